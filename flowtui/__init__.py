"""flowtui: AWS VPC Flow Logs in a terminal."""

__version__ = "0.1.0"
