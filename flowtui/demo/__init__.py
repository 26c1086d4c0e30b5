"""``flowtui demo``: a synthetic AWS environment and its traffic, through the real pipeline.

``environment`` describes the VPC (from the shipped describe-* JSON) and the
outside world (fake GeoIP data); ``traffic`` makes flow-log lines and Kinesis
payloads from a seed; ``source`` runs them into a store, paced by the clock.
"""

from flowtui.demo.environment import demo_config, load_environment
from flowtui.demo.source import DemoSource
from flowtui.demo.traffic import TrafficGenerator, generate_lines, generate_payloads

__all__ = ["DemoSource", "TrafficGenerator", "demo_config", "generate_lines", "generate_payloads", "load_environment"]
