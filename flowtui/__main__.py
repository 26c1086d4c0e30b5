from flowtui.cli import main

raise SystemExit(main())
