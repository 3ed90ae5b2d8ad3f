#!/usr/bin/python3
"""libtorrent as a seeder or leecher for the download, swarm and magnet benchmarks (docs/benchmarks.md).

Run with the system interpreter that has python3-libtorrent (Debian: /usr/bin/python3):

    /usr/bin/python3 test/bench/lt_bench.py seed --bind 127.x.y.z --torrent FILE --save-path DIR
        [--upload-limit B/s] [--peer HOST:PORT ...] [--bootstrap HOST:PORT ...]
    /usr/bin/python3 test/bench/lt_bench.py download --bind 127.x.y.z (--torrent FILE | --magnet URI)
        --save-path DIR [--peer HOST:PORT ...] [--bootstrap HOST:PORT ...]
        [--upload-limit B/s] [--download-limit B/s] [--seed-after] [--timeout S]
    either mode also takes --set KEY=VALUE (repeatable) to override one libtorrent setting.

stdout, one JSON object per line (the same names as our CLI's --json events):
    {"event":"ready","tcpPort":N}                        listening (seed: once the data is verified)
    {"event":"metadata","ms":N}                          download: info dictionary known (ms since start)
    {"event":"complete","ms":N,"bytes":N,"cpuUser":S,"cpuSys":S}
                                                         download: every piece verified; CPU seconds of
                                                         this whole process (interpreter, import, session)
    {"event":"error","code":"...","message":"..."}

A download exits after `complete` unless --seed-after; everything exits on SIGTERM, EOF is not watched.
`ms` counts from the start of the interpreter's main(), after `import libtorrent` (reported as importMs
in `ready`), so a harness that wants "from process start" measures wall time itself.

Loopback settings as in test/interop/lt_node.py, plus one thing the benchmarks need: libtorrent exempts
local-network peers (127/8 included) from rate limits by default; the swarm benchmark needs the limits
applied, so `ignore_limits_on_local_network` is off and the peer-class filter puts every IPv4 address in
the global class only (not the unlimited local class). IP overhead is not counted in the limits
(`rate_limit_ip_overhead` off), since our limits count piece and message bytes only. uTP is off (TCP
only, as our node): between two libtorrent peers uTP is preferred and ran 10-20x slower on loopback.
"""

import argparse
import json
import os
import resource
import signal
import sys
import time

T0 = time.monotonic()
import libtorrent as lt  # noqa: E402  (import time is reported)
IMPORT_MS = round((time.monotonic() - T0) * 1000)

# Poll interval of the alert loop.
ALERT_WAIT_MS = 20
# Re-announce to the DHT every few seconds (default 15 minutes), as in lt_node.py.
ANNOUNCE_INTERVAL_S = 5


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def settings_for(args, use_dht):
    s = {
        "listen_interfaces": f"{args.bind}:0",
        "outgoing_interfaces": args.bind,
        "enable_dht": use_dht,
        "dht_bootstrap_nodes": ",".join(args.bootstrap),
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        "dht_block_ratelimit": 10000,
        "dht_upload_rate_limit": 1_000_000,
        "dht_announce_interval": ANNOUNCE_INTERVAL_S,
        "allow_multiple_connections_per_ip": True,
        # TCP only, like our node. libtorrent prefers uTP between two libtorrent peers, and its uTP on
        # loopback ran at 5-10 MiB/s here (LEDBAT), against ~100 MiB/s over TCP on the same machine.
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        # Every peer is on loopback: make rate limits apply to them (see the module docstring).
        "ignore_limits_on_local_network": False,
        "rate_limit_ip_overhead": False,
        "upload_rate_limit": args.upload_limit,
        "download_rate_limit": args.download_limit,
        "alert_mask": (lt.alert.category_t.error_notification
                       | lt.alert.category_t.status_notification
                       | lt.alert.category_t.storage_notification),
    }
    return s


def parse_rate(text):
    text = str(text).strip()
    mult = {"k": 1024, "K": 1024, "m": 1024 ** 2, "M": 1024 ** 2, "g": 1024 ** 3, "G": 1024 ** 3}
    if text and text[-1] in mult:
        return int(float(text[:-1]) * mult[text[-1]])
    return int(text)


def parse_setting(value):
    if value in ("true", "false"):
        return value == "true"
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("mode", choices=["seed", "download"])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--torrent")
    ap.add_argument("--magnet")
    ap.add_argument("--save-path", required=True)
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--bootstrap", action="append", default=[])
    ap.add_argument("--upload-limit", type=parse_rate, default=0)
    ap.add_argument("--download-limit", type=parse_rate, default=0)
    ap.add_argument("--seed-after", action="store_true")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--local-unlimited", action="store_true",
                    help="keep libtorrent's default peer classes (loopback peers exempt from rate limits)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one libtorrent setting (int, float, true/false or string)")
    args = ap.parse_args()
    t_start = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    settings = settings_for(args, use_dht=bool(args.bootstrap))
    for kv in args.set:
        key, _, value = kv.partition("=")
        settings[key] = parse_setting(value)
    ses = lt.session(settings)
    # All IPv4 in the global peer class only: no unlimited "local" class for loopback peers.
    if not args.local_unlimited:
        flt = lt.ip_filter()
        flt.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(flt)
    for hp in args.bootstrap:
        host, _, port = hp.rpartition(":")
        ses.add_dht_node((host, int(port)))

    if args.magnet:
        atp = lt.parse_magnet_uri(args.magnet)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save_path
    handle = ses.add_torrent(atp)
    for hp in args.peer:
        host, _, port = hp.rpartition(":")
        handle.connect_peer((host, int(port)))

    ms = lambda: round((time.monotonic() - t_start) * 1000)  # noqa: E731
    ready_sent = False
    if args.mode == "download":
        emit({"event": "ready", "tcpPort": ses.listen_port(), "importMs": IMPORT_MS})
        ready_sent = True
    have_meta = not args.magnet
    done = False
    deadline = t_start + args.timeout
    while time.monotonic() < deadline:
        if ses.wait_for_alert(ALERT_WAIT_MS) is not None:
            for alert in ses.pop_alerts():
                if alert.category() & lt.alert.category_t.error_notification:
                    emit({"event": "warning", "what": alert.what(), "message": alert.message()})
        st = handle.status()
        if not have_meta and st.has_metadata:
            have_meta = True
            emit({"event": "metadata", "ms": ms()})
        if args.mode == "seed" and not ready_sent and st.is_seeding:
            ready_sent = True
            emit({"event": "ready", "tcpPort": ses.listen_port(), "importMs": IMPORT_MS})
        if args.mode == "download" and not done and st.is_seeding:
            done = True
            ru = resource.getrusage(resource.RUSAGE_SELF)
            emit({"event": "complete", "ms": ms(), "bytes": st.total_wanted, "cpuUser": ru.ru_utime,
                  "cpuSys": ru.ru_stime, "downloaded": st.total_payload_download})
            if not args.seed_after:
                return 0
    emit({"event": "error", "code": "TIMEOUT", "message": f"gave up after {args.timeout} s"})
    return 3


if __name__ == "__main__":
    sys.exit(main())
