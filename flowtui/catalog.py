"""The field catalog: the one place a field is defined.

The parser, the store schema, the query compiler, completion, the help screen
and ``flowtui fields`` all read this table. Names follow Graylog's AWS and
threat-intel plugins so that the queries of the Graylog flow-log guides work
verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

FieldType = Literal["int", "str", "ip", "bool", "time"]
# Where a field's value comes from:
#   flow    - a column of the default (v2) flow-log format
#   custom  - a column of the custom formats (v3-v8)
#   derived - computed from the flow-log columns while parsing
#   source  - the CloudWatch Logs / Kinesis envelope the line arrived in
#   enrich  - looked up for an address (entity, internal, GeoIP, threat lists)
Origin = Literal["flow", "custom", "derived", "source", "enrich"]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType
    description: str
    origin: Origin
    aws_name: str | None = None  # the name in an AWS LogFormat (``${aws_name}``)
    address: str | None = None  # for enrich fields: the address field they describe
    suffix: str | None = None  # for enrich fields: the part after ``<address>_``


def _flow(name: str, type_: FieldType, aws: str, desc: str, origin: Origin = "flow") -> Field:
    return Field(name, type_, desc, origin, aws_name=aws)


_FLOW: tuple[Field, ...] = (
    _flow("version", "int", "version", "Flow-log format version (2 for the default format)."),
    _flow("account_id", "str", "account-id", "AWS account that owns the interface."),
    _flow("interface_id", "str", "interface-id", "Network interface (ENI) the traffic was recorded on."),
    _flow("src_addr", "ip", "srcaddr", "Source address (of the interface for incoming traffic)."),
    _flow("dst_addr", "ip", "dstaddr", "Destination address."),
    _flow("src_port", "int", "srcport", "Source port."),
    _flow("dst_port", "int", "dstport", "Destination port."),
    _flow("protocol_number", "int", "protocol", "IANA protocol number (6 TCP, 17 UDP, 1 ICMP)."),
    _flow("packets", "int", "packets", "Packets transferred during the capture window."),
    _flow("bytes", "int", "bytes", "Bytes transferred during the capture window."),
    _flow("start", "time", "start", "Start of the capture window (unix seconds)."),
    _flow("end", "time", "end", "End of the capture window (unix seconds)."),
    _flow("action", "str", "action", "ACCEPT or REJECT by security groups and network ACLs."),
    _flow("log_status", "str", "log-status", "OK, NODATA (no traffic) or SKIPDATA (records skipped)."),
)

_C: Origin = "custom"
_CUSTOM: tuple[Field, ...] = (
    _flow("vpc_id", "str", "vpc-id", "VPC of the interface.", _C),
    _flow("subnet_id", "str", "subnet-id", "Subnet of the interface.", _C),
    _flow("instance_id", "str", "instance-id", "Instance the interface is attached to.", _C),
    _flow("tcp_flags", "int", "tcp-flags", "Bitmask of TCP flags seen (FIN 1, SYN 2, RST 4, SYN-ACK 18).", _C),
    _flow("type", "str", "type", "Traffic type: IPv4, IPv6 or EFA.", _C),
    _flow("pkt_srcaddr", "ip", "pkt-srcaddr", "Packet-level source address (the original, behind NAT).", _C),
    _flow("pkt_dstaddr", "ip", "pkt-dstaddr", "Packet-level destination address.", _C),
    _flow("region", "str", "region", "Region of the interface.", _C),
    _flow("az_id", "str", "az-id", "Availability Zone id of the interface.", _C),
    _flow("sublocation_type", "str", "sublocation-type", "wavelength, outpost or localzone.", _C),
    _flow("sublocation_id", "str", "sublocation-id", "Id of the sublocation.", _C),
    _flow("pkt_src_aws_service", "str", "pkt-src-aws-service", "AWS service of pkt_srcaddr (S3, EC2 …).", _C),
    _flow("pkt_dst_aws_service", "str", "pkt-dst-aws-service", "AWS service of pkt_dstaddr.", _C),
    _flow("flow_direction", "str", "flow-direction", "ingress or egress, relative to the interface.", _C),
    _flow("traffic_path", "int", "traffic-path", "Path egress traffic takes (1 same VPC … 8 via peering).", _C),
    _flow("ecs_cluster_arn", "str", "ecs-cluster-arn", "ECS cluster ARN.", _C),
    _flow("ecs_cluster_name", "str", "ecs-cluster-name", "ECS cluster name.", _C),
    _flow("ecs_container_instance_arn", "str", "ecs-container-instance-arn", "ECS container instance ARN.", _C),
    _flow("ecs_container_instance_id", "str", "ecs-container-instance-id", "ECS container instance id.", _C),
    _flow("ecs_container_id", "str", "ecs-container-id", "Docker id of the first container of the task.", _C),
    _flow("ecs_second_container_id", "str", "ecs-second-container-id", "Docker id of the second container.", _C),
    _flow("ecs_service_name", "str", "ecs-service-name", "ECS service name.", _C),
    _flow("ecs_task_definition_arn", "str", "ecs-task-definition-arn", "ECS task definition ARN.", _C),
    _flow("ecs_task_arn", "str", "ecs-task-arn", "ECS task ARN.", _C),
    _flow("ecs_task_id", "str", "ecs-task-id", "ECS task id.", _C),
    _flow("reject_reason", "str", "reject-reason", "Why traffic was rejected (BPA).", _C),
)

_DERIVED: tuple[Field, ...] = (
    Field("protocol", "str", "IANA keyword of protocol_number: TCP, UDP, ICMP, ICMPv6 …", "derived"),
    Field("timestamp", "time", "The record's time (= start).", "derived"),
    Field("capture_window_duration_seconds", "int", "end - start.", "derived"),
    Field(
        "message",
        "str",
        "Summary line, e.g. 'eni-3244234 ACCEPT TCP 172.1.1.2:80 -> 172.1.1.2:2264'; bare query terms search it.",
        "derived",
    ),
)

_SOURCE: tuple[Field, ...] = (
    Field("aws_log_group", "str", "CloudWatch Logs group the record came from.", "source"),
    Field("aws_log_stream", "str", "CloudWatch Logs stream the record came from.", "source"),
    Field("aws_kinesis_stream", "str", "Kinesis stream the record was read from.", "source"),
    Field("aws_owner", "str", "AWS account that owns the log group.", "source"),
)

# The kinds of AWS entity the inventory tells an address's holder by (enrich.inventory).
ENTITY_AWS_TYPES: Final[tuple[str, ...]] = ("EC2", "ELB", "RDS", "NAT", "LAMBDA", "VPCE", "ECS", "EKS", "TGW", "ENI")

# The enrichment of one address, in the order an enricher returns it.
ENRICH_SUFFIXES: Final[tuple[tuple[str, FieldType, str], ...]] = (
    ("internal", "bool", "inside the VPC CIDRs or the configured internal CIDRs"),
    ("entity", "str", "AWS entity holding the address at the flow's time, e.g. ec2:i-42e0d1ca, elb:my-alb"),
    ("entity_description", "str", "Name tag of the instance, or the ENI's description"),
    ("entity_aws_type", "str", f"{', '.join(ENTITY_AWS_TYPES[:-1])} or {ENTITY_AWS_TYPES[-1]}"),
    ("geolocation", "str", "'lat,lon' from the GeoIP City database (external addresses)"),
    ("country_code", "str", "ISO country code from GeoIP"),
    ("city_name", "str", "city from GeoIP"),
    ("as_number", "int", "autonomous system number from the GeoIP ASN database"),
    ("as_organization", "str", "autonomous system organisation"),
    ("threat_indicated", "bool", "listed by at least one threat list"),
    ("threat_indicated_by", "str", "ids of the threat lists that list it, e.g. spamhaus,tor"),
)
ENRICHED_ADDRESSES: Final[tuple[str, ...]] = ("src_addr", "dst_addr")

# Fields whose values are a fixed set: queries match them in any case (reject is REJECT, rej* and
# /rej.*/ too), and a value or pattern outside the set is a typo to point out, not a search for nothing.
CLOSED_SETS: Final[dict[str, tuple[str, ...]]] = {
    "action": ("ACCEPT", "REJECT"),
    "log_status": ("OK", "NODATA", "SKIPDATA"),
    **{f"{address}_entity_aws_type": ENTITY_AWS_TYPES for address in ENRICHED_ADDRESSES},
}


def _enrich_fields() -> tuple[Field, ...]:
    out = []
    for address in ENRICHED_ADDRESSES:
        for suffix, type_, desc in ENRICH_SUFFIXES:
            out.append(Field(f"{address}_{suffix}", type_, f"{address}: {desc}.", "enrich", address=address, suffix=suffix))
    return tuple(out)


FIELDS: Final[tuple[Field, ...]] = _FLOW + _CUSTOM + _DERIVED + _SOURCE + _enrich_fields()
BY_NAME: Final[dict[str, Field]] = {f.name: f for f in FIELDS}
BY_AWS_NAME: Final[dict[str, Field]] = {f.aws_name: f for f in FIELDS if f.aws_name}

# The layout of a parsed record: a tuple with one value per field below, in
# this order, None where the format lacks the field or the line has '-'.
RECORD_FIELDS: Final[tuple[Field, ...]] = _FLOW + _CUSTOM
RECORD_INDEX: Final[dict[str, int]] = {f.name: i for i, f in enumerate(RECORD_FIELDS)}
SOURCE_FIELDS: Final[tuple[Field, ...]] = _SOURCE

# The default format of VPC Flow Logs (version 2), as AWS writes it.
DEFAULT_FORMAT: Final[str] = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
    "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
)


def field(name: str) -> Field:
    """The catalog entry of ``name``; KeyError when there is none."""
    return BY_NAME[name]
