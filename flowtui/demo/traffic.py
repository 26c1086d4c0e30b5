"""Synthetic VPC flow-log traffic for the demo environment, as lines and as Kinesis payloads.

Traffic is made one simulated second at a time from a ``random.Random(seed)``
that is drawn from in a fixed order, so the same seed and the same seconds give
the same records however they are later batched. Each scenario is a whole
conversation (request and reply, on every interface that sees it), so the
panes look like real traffic: top talkers, rejected scans, outside clients
reaching an instance directly, the database sending data out, and beacons to
(fake) Tor exits and Spamhaus-listed blocks.

Lines are in the default (v2) format; :func:`encode_payloads` wraps them the way
a CloudWatch Logs subscription delivers them to Kinesis (gzip JSON
``DATA_MESSAGE`` documents, one log stream per ENI).
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Final, TypeVar

from flowtui.demo.environment import (
    ACCOUNT_ID,
    EXTERNAL_NETWORKS,
    LOG_GROUP,
    SUBSCRIPTION_FILTER,
    VPC_RESOLVER,
    Environment,
    Interface,
    load_environment,
)

# (log stream, start, line): one flow-log record and where CloudWatch would put it.
Event = tuple[str, int, str]

_T = TypeVar("_T")

EVENTS_PER_PAYLOAD: Final = 100
CONTROL_TEXT: Final = "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."
# Ports scanners try, most often first; all are closed to the outside, so REJECT.
_SCAN_PORTS: Final = (22,) * 8 + (3389,) * 5 + (23, 23, 445, 445, 5900, 3306, 6379, 8080, 1433, 2375)
_MAX_WINDOW: Final = 20  # seconds a record's capture window reaches back

# Scenario name -> relative weight (conversations, not lines).
WEIGHTS: Final[dict[str, float]] = {
    "web": 30.0,  # internet -> ALB -> web instances, over IPv4
    "web6": 5.0,  # the same over IPv6
    "direct": 5.0,  # outside clients straight to an instance's 443 (bypassing the ALB)
    "direct6": 1.5,
    "scan": 14.0,  # SSH/RDP/... scanners, rejected
    "scan6": 1.5,
    "ping": 2.0,  # ICMP echo from scanners, rejected
    "ssh": 1.5,  # office -> bastion -> an instance
    "db": 10.0,  # web -> RDS
    "nat": 8.0,  # instances -> NAT gateway -> package mirrors and APIs
    "dns": 6.0,  # instances -> the VPC resolver (UDP)
    "lambda": 3.0,  # Lambda -> VPC endpoint, Lambda -> RDS
    "exfil": 0.6,  # RDS -> an outside address
    "tor": 0.8,  # reports-worker beaconing to a Tor exit
    "tor6": 0.3,
    "spamhaus": 0.8,  # reports-worker to a Spamhaus-listed block
    "spamhaus_in": 0.5,  # Spamhaus-listed blocks knocking, rejected
    "nodata": 0.4,  # NODATA records (an interface with no traffic)
    "skipdata": 0.15,  # SKIPDATA records (capacity reached)
}
SCENARIOS: Final[tuple[str, ...]] = tuple(WEIGHTS)


def _block_addresses(rng: random.Random, cidr: str, count: int) -> list[str]:
    net = ipaddress.ip_network(cidr)
    base, size = int(net.network_address), net.num_addresses
    out = []
    for _ in range(count):
        offset = rng.randrange(1, size - 1) if size > 2 else 0
        out.append(str(ipaddress.ip_address(base + offset)))
    return out


class TrafficGenerator:
    """Flow-log lines for one simulated second at a time; deterministic for a seed."""

    def __init__(self, seed: int, environment: Environment | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.env = environment or load_environment()
        env = self.env
        self.alb = env.by_role("alb")
        self.web = env.by_role("web")
        self.bastion = env.one("bastion")
        self.worker = env.one("worker")
        self.stray = env.one("stray")
        self.rds = env.one("rds")
        self.nat = env.one("nat")
        self.lam = env.one("lambda")
        self.vpce = env.one("vpce")
        self.web6 = tuple(w for w in self.web if w.ipv6)
        self.alb6 = tuple(a for a in self.alb if a.ipv6)
        self.all_interfaces = env.interfaces
        self._prefix = {i.eni_id: f"2 {ACCOUNT_ID} {i.eni_id} " for i in env.interfaces}
        self._stream = {i.eni_id: i.log_stream for i in env.interfaces}
        # Fixed pools of outside addresses, drawn once: the same clients come back, so
        # top talkers stand out. Pools are skewed by _pick (early entries are busier).
        rng = self.rng
        pools: dict[str, list[str]] = {}
        sizes = {"client": 40, "office": 3, "scanner": 12, "service": 4}
        for net in EXTERNAL_NETWORKS:
            v6 = ":" in net.cidr
            key = f"{net.role}6" if v6 else net.role
            if net.hosts:
                pools.setdefault(key, []).extend(net.hosts)
            else:
                pools.setdefault(key, []).extend(_block_addresses(rng, net.cidr, sizes.get(net.role, 4)))
        self.pools = pools
        self._scenario_fns: dict[str, Callable[[int, int], None]] = {
            name: getattr(self, f"_{name}") for name in SCENARIOS
        }
        names, weights = zip(*WEIGHTS.items(), strict=True)
        total = sum(weights)
        acc = 0.0
        self._cumulative: list[tuple[float, Callable[[int, int], None]]] = []
        for name, w in zip(names, weights, strict=True):
            acc += w / total
            self._cumulative.append((acc, self._scenario_fns[name]))
        self._out: list[Event] = []

    # ------------------------------------------------------------------ public

    def second(self, t: int, n: int, every_scenario: bool = False) -> list[Event]:
        """At least ``n`` records ending at second ``t`` (whole conversations; the excess is small).

        With ``every_scenario`` one conversation of each scenario comes first, so
        even the shortest run shows every pane.
        """
        out: list[Event] = []
        self._out = out
        if every_scenario:
            for name in SCENARIOS:
                self._scenario_fns[name](t, self._window())
        r = self.rng.random
        cumulative = self._cumulative
        while len(out) < n:
            x = r()
            for edge, fn in cumulative:
                if x < edge:
                    break
            fn(t, self._window())
        return out

    def scenario(self, name: str, t: int) -> list[Event]:
        """One conversation of scenario ``name`` ending at ``t`` (for tests and the all-pass)."""
        self._out = []
        self._scenario_fns[name](t, self._window())
        return self._out

    # ------------------------------------------------------------------ helpers

    def _window(self) -> int:
        return int(self.rng.random() * _MAX_WINDOW)

    def _pick(self, seq: Sequence[_T]) -> _T:
        """An element of ``seq``, early ones more often: a few busy clients, a long tail."""
        return seq[int(self.rng.random() ** 2 * len(seq))]

    def _eph(self) -> int:
        return 32768 + int(self.rng.random() * 28232)

    def _emit(
        self,
        eni: Interface,
        src: str,
        dst: str,
        sport: int,
        dport: int,
        proto: int,
        packets: int,
        nbytes: int,
        t: int,
        w: int,
        action: str = "ACCEPT",
    ) -> None:
        start = t - w
        line = (
            f"{self._prefix[eni.eni_id]}{src} {dst} {sport} {dport} {proto} {packets} {nbytes} {start} {t} {action} OK"
        )
        self._out.append((eni.log_stream, start, line))

    def _both(
        self,
        seen_on: tuple[Interface, ...],
        a: str,
        b: str,
        aport: int,
        bport: int,
        proto: int,
        req: tuple[int, int],
        resp: tuple[int, int],
        t: int,
        w: int,
    ) -> None:
        """A request a -> b and its reply, recorded on every interface in ``seen_on``."""
        for eni in seen_on:
            self._emit(eni, a, b, aport, bport, proto, req[0], req[1], t, w)
            self._emit(eni, b, a, bport, aport, proto, resp[0], resp[1], t, w)

    def _sizes(self, small: int, large: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(packets, bytes) for a request of ~``small`` bytes and a reply of ~``large``."""
        r = self.rng.random
        req_bytes = int(small * (0.5 + r()))
        resp_bytes = int(large * (0.2 + 2 * r() ** 2))
        req_pk = max(1, req_bytes // 400 + 1)
        resp_pk = max(1, resp_bytes // 1300 + 1)
        return (req_pk, req_pk * 40 + req_bytes), (resp_pk, resp_pk * 40 + resp_bytes)

    # ------------------------------------------------------------------ scenarios

    def _web(self, t: int, w: int) -> None:
        client = self._pick(self.pools["client"])
        alb, web = self._pick(self.alb), self._pick(self.web)
        req, resp = self._sizes(900, 24_000)
        self._both((alb,), client, alb.private_ip, self._eph(), 443, 6, req, resp, t, w)
        self._both((alb, web), alb.private_ip, web.private_ip, self._eph(), 80, 6, req, resp, t, w)

    def _web6(self, t: int, w: int) -> None:
        client = self._pick(self.pools["client6"])
        alb, web = self._pick(self.alb6), self._pick(self.web)
        req, resp = self._sizes(900, 24_000)
        assert alb.ipv6 is not None
        self._both((alb,), client, alb.ipv6, self._eph(), 443, 6, req, resp, t, w)
        self._both((alb, web), alb.private_ip, web.private_ip, self._eph(), 80, 6, req, resp, t, w)

    def _direct(self, t: int, w: int) -> None:
        client, web = self._pick(self.pools["client"]), self._pick(self.web)
        req, resp = self._sizes(700, 16_000)
        self._both((web,), client, web.private_ip, self._eph(), 443, 6, req, resp, t, w)

    def _direct6(self, t: int, w: int) -> None:
        client, web = self._pick(self.pools["client6"]), self._pick(self.web6)
        assert web.ipv6 is not None
        req, resp = self._sizes(700, 16_000)
        self._both((web,), client, web.ipv6, self._eph(), 443, 6, req, resp, t, w)

    def _scan(self, t: int, w: int) -> None:
        scanner = self._pick(self.pools["scanner"])
        target = self.bastion if self.rng.random() < 0.3 else self._pick(self.web)
        port = self._pick(_SCAN_PORTS)
        packets = 1 + int(self.rng.random() * 3)
        self._emit(target, scanner, target.private_ip, self._eph(), port, 6, packets, packets * 44, t, w, "REJECT")

    def _scan6(self, t: int, w: int) -> None:
        scanner, target = self._pick(self.pools["scanner6"]), self._pick(self.web6)
        assert target.ipv6 is not None
        port = self._pick(_SCAN_PORTS)
        self._emit(target, scanner, target.ipv6, self._eph(), port, 6, 1, 64, t, w, "REJECT")

    def _ping(self, t: int, w: int) -> None:
        scanner = self._pick(self.pools["scanner"])
        target = self._pick(self.web)
        self._emit(target, scanner, target.private_ip, 0, 0, 1, 1, 84, t, w, "REJECT")

    def _ssh(self, t: int, w: int) -> None:
        office = self._pick(self.pools["office"])
        hop = self.stray if self.rng.random() < 0.25 else self._pick(self.web)
        req, resp = self._sizes(3_000, 12_000)
        self._both((self.bastion,), office, self.bastion.private_ip, self._eph(), 22, 6, req, resp, t, w)
        self._both((self.bastion, hop), self.bastion.private_ip, hop.private_ip, self._eph(), 22, 6, req, resp, t, w)

    def _db(self, t: int, w: int) -> None:
        web = self._pick(self.web)
        req, resp = self._sizes(1_500, 30_000)
        self._both((web, self.rds), web.private_ip, self.rds.private_ip, self._eph(), 5432, 6, req, resp, t, w)

    def _nat(self, t: int, w: int) -> None:
        x = self.rng.random()
        inst = self._pick(self.web) if x < 0.6 else self.worker if x < 0.8 else self.lam if x < 0.93 else self.stray
        service, nat = self._pick(self.pools["service"]), self.nat
        sport = self._eph()
        (qp, qb), (rp, rb) = self._sizes(1_200, 80_000)
        self._emit(inst, inst.private_ip, service, sport, 443, 6, qp, qb, t, w)
        self._emit(inst, service, inst.private_ip, 443, sport, 6, rp, rb, t, w)
        nat_port = 1024 + int(self.rng.random() * 64000)
        self._emit(nat, inst.private_ip, service, sport, 443, 6, qp, qb, t, w)
        self._emit(nat, nat.private_ip, service, nat_port, 443, 6, qp, qb, t, w)
        self._emit(nat, service, nat.private_ip, 443, nat_port, 6, rp, rb, t, w)
        self._emit(nat, service, inst.private_ip, 443, sport, 6, rp, rb, t, w)

    def _dns(self, t: int, w: int) -> None:
        x = self.rng.random()
        inst = self._pick(self.web) if x < 0.7 else self.worker if x < 0.85 else self.lam
        q = 60 + int(self.rng.random() * 40)
        self._both((inst,), inst.private_ip, VPC_RESOLVER, self._eph(), 53, 17, (1, q), (1, q + 80), t, w)

    def _lambda(self, t: int, w: int) -> None:
        lam = self.lam
        req, resp = self._sizes(2_000, 6_000)
        self._both((lam, self.vpce), lam.private_ip, self.vpce.private_ip, self._eph(), 443, 6, req, resp, t, w)
        req, resp = self._sizes(800, 9_000)
        self._both((lam, self.rds), lam.private_ip, self.rds.private_ip, self._eph(), 5432, 6, req, resp, t, w)

    def _exfil(self, t: int, w: int) -> None:
        target = self._pick(self.pools["exfil"])
        nbytes = 2_000_000 + int(self.rng.random() * 28_000_000)
        packets = nbytes // 1400
        sport = self._eph()
        self._emit(self.rds, self.rds.private_ip, target, sport, 443, 6, packets, nbytes, t, w)
        self._emit(self.rds, target, self.rds.private_ip, 443, sport, 6, packets // 2, packets // 2 * 52, t, w)

    def _beacon(self, src: Interface, src_addr: str, dst: str, port: int, t: int, w: int) -> None:
        sport = self._eph()
        size = 300 + int(self.rng.random() * 200)
        self._emit(src, src_addr, dst, sport, port, 6, 4, size, t, w)
        self._emit(src, dst, src_addr, port, sport, 6, 3, size // 2, t, w)

    def _tor(self, t: int, w: int) -> None:
        port = 9001 if self.rng.random() < 0.6 else 443
        self._beacon(self.worker, self.worker.private_ip, self._pick(self.pools["tor"]), port, t, w)

    def _tor6(self, t: int, w: int) -> None:
        web = self.web6[-1]
        assert web.ipv6 is not None
        self._beacon(web, web.ipv6, self._pick(self.pools["tor6"]), 9001, t, w)

    def _spamhaus(self, t: int, w: int) -> None:
        self._beacon(self.worker, self.worker.private_ip, self.pools["spamhaus"][0], 8443, t, w)  # always the same C2

    def _spamhaus_in(self, t: int, w: int) -> None:
        if self.rng.random() < 0.7:
            src = self.pools["spamhaus"][-1]
            self._emit(self.bastion, src, self.bastion.private_ip, self._eph(), 22, 6, 2, 120, t, w, "REJECT")
        else:
            web = self._pick(self.web6)
            assert web.ipv6 is not None
            src = self._pick(self.pools["spamhaus6"])
            self._emit(web, src, web.ipv6, self._eph(), 3389, 6, 1, 80, t, w, "REJECT")

    def _status_line(self, t: int, status: str) -> None:
        eni = self._pick(self.all_interfaces)
        start = t - 60 + self._window()
        line = f"{self._prefix[eni.eni_id]}- - - - - - - {start} {t} - {status}"
        self._out.append((eni.log_stream, start, line))

    def _nodata(self, t: int, w: int) -> None:
        self._status_line(t, "NODATA")

    def _skipdata(self, t: int, w: int) -> None:
        self._status_line(t, "SKIPDATA")


# --------------------------------------------------------------------------- payloads


class PayloadEncoder:
    """Wraps events into CloudWatch Logs subscription payloads, with unique event ids."""

    def __init__(self, owner: str = ACCOUNT_ID, log_group: str = LOG_GROUP, compresslevel: int = 6) -> None:
        self.owner = owner
        self.log_group = log_group
        self.compresslevel = compresslevel
        self._seq = 0

    def encode(self, events: list[Event], per_payload: int = EVENTS_PER_PAYLOAD) -> list[bytes]:
        """Gzip JSON DATA_MESSAGE documents, one log stream each, at most ``per_payload`` events."""
        by_stream: dict[str, list[tuple[int, str]]] = {}
        for stream, start, line in events:
            by_stream.setdefault(stream, []).append((start, line))
        out = []
        for stream in sorted(by_stream):
            items = by_stream[stream]
            items.sort(key=lambda item: item[0])  # stable: same-second lines keep their order
            for i in range(0, len(items), per_payload):
                out.append(self.data_message(stream, items[i : i + per_payload]))
        return out

    def data_message(self, stream: str, items: list[tuple[int, str]]) -> bytes:
        log_events = []
        for start, line in items:
            self._seq += 1
            ms = start * 1000
            # 56 digits like CloudWatch's: the time, then a sequence that makes the id unique.
            log_events.append({"id": f"{ms:013d}{self._seq:043d}", "timestamp": ms, "message": line})
        doc = {
            "messageType": "DATA_MESSAGE",
            "owner": self.owner,
            "logGroup": self.log_group,
            "logStream": stream,
            "subscriptionFilters": [SUBSCRIPTION_FILTER],
            "logEvents": log_events,
        }
        return gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), self.compresslevel, mtime=0)

    def control_message(self, t: int) -> bytes:
        doc = {
            "messageType": "CONTROL_MESSAGE",
            "owner": "CloudwatchLogs",
            "logGroup": "",
            "logStream": "",
            "subscriptionFilters": [],
            "logEvents": [{"id": "", "timestamp": t * 1000, "message": CONTROL_TEXT}],
        }
        return gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), self.compresslevel, mtime=0)


# --------------------------------------------------------------------------- bulk generation


def _spread(n_records: int, start_ts: int, end_ts: int) -> Iterator[tuple[int, int]]:
    """(second, records for it) spreading ``n_records`` evenly over [start_ts, end_ts)."""
    if end_ts <= start_ts:
        raise ValueError(f"end_ts ({end_ts}) must be after start_ts ({start_ts})")
    seconds = end_ts - start_ts
    done = 0
    for i in range(seconds):
        due = n_records * (i + 1) // seconds
        if due > done:
            yield start_ts + i, due - done
            done = due


def generate_events(n_records: int, seed: int, start_ts: int, end_ts: int) -> Iterator[Event]:
    """About ``n_records`` events with times spread over [start_ts, end_ts); exactly n are yielded."""
    gen = TrafficGenerator(seed)
    left = n_records
    first = True
    for second, count in _spread(n_records, start_ts, end_ts):
        events = gen.second(second, count, every_scenario=first)
        first = False
        take = events[: min(len(events), left)]
        left -= len(take)
        yield from take
        if left <= 0:
            return


def generate_lines(n_records: int, seed: int, start_ts: int, end_ts: int) -> Iterator[str]:
    """Exactly ``n_records`` v2 flow-log lines over [start_ts, end_ts), fast (for benchmarks and tests)."""
    for _, _, line in generate_events(n_records, seed, start_ts, end_ts):
        yield line


def generate_payloads(
    n_records: int, seed: int, start_ts: int, end_ts: int, per_payload: int = EVENTS_PER_PAYLOAD
) -> Iterator[bytes]:
    """The records of :func:`generate_lines` as gzip subscription payloads of ~``per_payload`` events."""
    encoder = PayloadEncoder(compresslevel=1)
    buffers: dict[str, list[tuple[int, str]]] = {}
    for stream, start, line in generate_events(n_records, seed, start_ts, end_ts):
        items = buffers.setdefault(stream, [])
        items.append((start, line))
        if len(items) >= per_payload:
            yield encoder.data_message(stream, items)
            buffers[stream] = []
    for stream, items in sorted(buffers.items()):
        if items:
            yield encoder.data_message(stream, items)
