"""The app's screens: dashboard, results, address page, help and small dialogs."""
