#!/usr/bin/python3
"""A libtorrent DHT node driven over JSON lines, for the interop tests (docs/interop.md).

Run with the system interpreter that has python3-libtorrent (Debian: /usr/bin/python3):

    /usr/bin/python3 test/interop/lt_node.py --bind 127.0.0.5 [--port 0] [--bootstrap HOST:PORT ...]
        [--seed PATH [--write-torrent FILE] | --torrent FILE --save-path DIR]
        [--download MAGNET|FILE.torrent --save-path DIR] [--peer HOST:PORT ...] [--no-dht]
        [--enc enabled|disabled|forced]

stdout, one JSON object per line:
    {"event":"ready","impl":"libtorrent","dhtPort":N,"tcpPort":N,"nodeId":"hex"}
    {"event":"seeding","infohash":"hex","magnet":"...","tcpPort":N}          (seed modes, once verified)
    {"event":"announcing","infohash":"hex","port":N}                          (reply to `announce`)
    {"event":"metadata","infohash":"hex","name":"...","bytes":N,"ms":N}       (--download, info dict known)
    {"event":"progress","have":N,"pieces":N,"peers":N}                        (--download, about once a second)
    {"event":"complete","infohash":"hex","bytes":N,"ms":N}                    (--download, all pieces verified)
    {"event":"peer_connected","host":"...","port":N} / {"event":"peer_closed",...,"reason":"..."}
    {"event":"peer","infohash":"hex","host":"...","port":N}                   (each new peer of a lookup)
    {"event":"nodes","count":N}                                               (reply to `nodes`)
    {"event":"error","code":"...","message":"..."}

stdin commands, one per line:
    announce <infohash> [port]   announce ourselves on the DHT for <infohash>
    get_peers <infohash>         look <infohash> up; new peers are printed as they arrive
    nodes                        print the routing table size
    quit                         exit (EOF on stdin does the same)

Why `announce` adds a torrent: the Debian 2.0.8 binding has no converter for dht::announce_flags_t,
so session.dht_announce() cannot be called from Python (libtorrent issue #7441, fixed by PR #7443 in
later releases). A torrent added by info-hash alone makes libtorrent announce itself on the DHT, with its
own listen port (the port argument is therefore ignored; the `announcing` event says which port is used).

--download makes a leecher for the peer wire and magnet interop tests: it adds a magnet link (its x.pe
peers included) or a .torrent, connects to every --peer, and reports metadata, progress and completion
(ms counted from the moment the torrent was added). --no-dht turns the DHT off (wire-only tests); --enc
sets both in_enc_policy and out_enc_policy (libtorrent's default, "enabled", tries MSE first and retries
in plaintext; "disabled" speaks plaintext only).

The node never reaches the public DHT: dht_bootstrap_nodes is replaced by the given list (empty when none is
given; its default is a public router) and every socket is bound to --bind.
"""

import argparse
import json
import os
import queue
import sys
import tempfile
import threading
import time
import warnings

try:
    import libtorrent as lt
except ImportError as exc:  # the test harness turns this into a failing test with this message
    sys.stdout.write(json.dumps({
        "event": "error",
        "code": "LIBTORRENT_MISSING",
        "message": f"python3-libtorrent is not importable from {sys.executable}: {exc}"
                   " (apt-get install -y python3-libtorrent, run with /usr/bin/python3)",
    }) + "\n")
    sys.stdout.flush()
    sys.exit(3)

# dht_state() is the only way the 2.0 binding exposes our node id; its deprecation warning is noise.
warnings.filterwarnings("ignore", category=DeprecationWarning)

# How long to wait for the DHT to start on the listen socket before giving up.
START_TIMEOUT_S = 20
# Re-announce torrents every few seconds instead of libtorrent's 15 minutes, so that an announce made
# before the routing table filled up is repeated within a test's time budget.
ANNOUNCE_INTERVAL_S = 5
# Poll interval of the alert loop; also bounds how late a stdin command is handled.
ALERT_WAIT_MS = 100
# How often a leecher prints a progress event (the CLI contract's "about once a second").
PROGRESS_INTERVAL_S = 1.0
# libtorrent retries a refused MSE handshake in plaintext by itself; only if no peer is connected for this
# long (it gave up on every --peer) are the --peer addresses handed to it again.
RECONNECT_AFTER_S = 10.0
ENC_POLICIES = {"enabled": "pe_enabled", "disabled": "pe_disabled", "forced": "pe_forced"}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def settings_for(bind, port, bootstrap, dht=True):
    return {
        "listen_interfaces": f"{bind}:{port}",
        "outgoing_interfaces": bind,
        "enable_dht": dht,
        # Replaces the default public router (dht.libtorrent.org); empty means no bootstrap at all.
        "dht_bootstrap_nodes": ",".join(bootstrap),
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # Every node of a test network lives in 127.0.0.0/8. Without these libtorrent keeps one node per
        # IP (and per /24 in a bucket) in its routing table and in a lookup, so the network never forms.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        # BEP 42 ties node ids to external IPs; loopback nodes cannot have verified ids.
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        # Drops only some public class-A ranges, not 127/8, but it is not wanted in a closed test network.
        "dht_ignore_dark_internet": False,
        # The DoS blocker and the DHT send quota would otherwise throttle a benchmark or a busy test partner
        # (0 does not mean "unlimited" for dht_upload_rate_limit: it crashed 2.0.8 with SIGFPE).
        "dht_block_ratelimit": 10000,
        "dht_upload_rate_limit": 1_000_000,
        "dht_announce_interval": ANNOUNCE_INTERVAL_S,
        # Peers of a test network all live on loopback; libtorrent must not refuse to talk to them.
        "allow_multiple_connections_per_ip": True,
        # Our node speaks BitTorrent over TCP only (no uTP, BEP 29). libtorrent connects over uTP first and
        # falls back to TCP only after that attempt times out (seconds), so peer connections use TCP.
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "alert_mask": (lt.alert.category_t.dht_notification
                       | lt.alert.category_t.dht_operation_notification  # dht_get_peers_reply_alert
                       | lt.alert.category_t.error_notification
                       | lt.alert.category_t.status_notification
                       | lt.alert.category_t.storage_notification
                       # peer_connect/peer_disconnected alerts: which connections a wire test made.
                       | lt.alert.category_t.peer_notification
                       | lt.alert.category_t.connect_notification),
    }


def node_id_hex(ses):
    state = ses.dht_state()
    ids = state.get(b"node-id") or state.get("node-id") or []
    for entry in ids:
        raw = entry if isinstance(entry, bytes) else bytes(entry, "latin-1")
        if len(raw) >= 20:
            return raw[:20].hex()
    return None


def parse_infohash(text):
    raw = bytes.fromhex(text)
    if len(raw) != 20:
        raise ValueError("infohash must be 40 hex digits")
    return lt.sha1_hash(raw)


def make_torrent(path):
    """A v1-only torrent of a file or directory (our node speaks BitTorrent v1 only)."""
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, 0, lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    return lt.torrent_info(ct.generate()), os.path.dirname(os.path.abspath(path))


def stdin_reader(lines):
    for line in sys.stdin:
        lines.put(line)
    lines.put(None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bootstrap", action="append", default=[])
    ap.add_argument("--seed", help="file or directory to make a v1 torrent of and seed")
    ap.add_argument("--torrent", help=".torrent file to seed (with --save-path)")
    ap.add_argument("--save-path", help="folder holding the --torrent data, or receiving --download data")
    ap.add_argument("--write-torrent", help="with --seed: also write the made .torrent to this file")
    ap.add_argument("--download", help="magnet link or .torrent file to download into --save-path")
    ap.add_argument("--peer", action="append", default=[], help="HOST:PORT to connect to (repeatable)")
    ap.add_argument("--no-dht", action="store_true", help="do not run the DHT")
    ap.add_argument("--enc", choices=sorted(ENC_POLICIES), help="in/out encryption policy (default libtorrent's)")
    args = ap.parse_args()

    settings = settings_for(args.bind, args.port, args.bootstrap, dht=not args.no_dht)
    if args.enc:
        policy = getattr(lt.enc_policy, ENC_POLICIES[args.enc])
        settings["out_enc_policy"] = policy
        settings["in_enc_policy"] = policy
    if os.environ.get("LT_NODE_DEBUG"):
        # Every DHT packet and log line goes to stderr: for diagnosing a failing interop test.
        settings["alert_mask"] |= lt.alert.category_t.dht_log_notification
    ses = lt.session(settings)
    deadline = time.monotonic() + START_TIMEOUT_S
    node_id = None
    started = False
    while time.monotonic() < deadline:
        if ses.is_listening() and args.no_dht:
            started = True
            break
        if ses.is_listening() and ses.is_dht_running():
            node_id = node_id_hex(ses)
            if node_id:
                started = True
                break
        time.sleep(0.05)
    if not started:
        emit({"event": "error", "code": "DHT_NOT_STARTED", "message": f"libtorrent DHT did not start on {args.bind}"})
        return 1
    # Also add the bootstrap nodes as ordinary nodes: libtorrent never keeps "router" nodes from
    # dht_bootstrap_nodes in its routing table, and a tiny test network needs every node it can get.
    for hp in args.bootstrap:
        host, _, port = hp.rpartition(":")
        ses.add_dht_node((host, int(port)))
    port = ses.listen_port()
    # bootstrapNodes is read back from the session, so a test can check the public default is gone.
    emit({"event": "ready", "impl": "libtorrent", "dhtPort": port, "tcpPort": port, "nodeId": node_id,
          "version": lt.__version__, "bootstrapNodes": ses.get_settings()["dht_bootstrap_nodes"]})

    scratch = tempfile.mkdtemp(prefix="lt_node_")
    seeding = {}  # torrent handle info-hash hex -> announced as seeding?
    if args.seed or args.torrent:
        if args.seed:
            ti, save_path = make_torrent(args.seed)
            if args.write_torrent:
                with open(args.write_torrent, "wb") as f:
                    f.write(lt.bencode(lt.create_torrent(ti).generate()))
        else:
            ti, save_path = lt.torrent_info(args.torrent), args.save_path or "."
        atp = lt.add_torrent_params()
        atp.ti = ti
        atp.save_path = save_path
        ses.add_torrent(atp)
        seeding[str(ti.info_hashes().v1)] = False
    leech = None
    if args.download:
        leech = start_download(ses, args.download, args.save_path or scratch, args.peer)

    lines = queue.Queue()
    threading.Thread(target=stdin_reader, args=(lines,), daemon=True).start()
    seen = {}  # infohash hex -> set of (host, port) already printed

    while True:
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                return 0
            if not handle(ses, line.split(), scratch, seen):
                return 0
        if ses.wait_for_alert(ALERT_WAIT_MS) is not None:
            for alert in ses.pop_alerts():
                on_alert(ses, alert, seen, seeding)
                if leech is not None:
                    leech.on_alert(alert)
        if leech is not None:
            leech.tick()


class Leech:
    """One torrent being downloaded: prints metadata, progress and complete events once each (progress
    about once a second)."""

    def __init__(self, handle, peers):
        self.handle = handle
        self.peers = peers
        self.added = time.monotonic()
        self.metadata_sent = False
        self.complete_sent = False
        self.next_progress = self.added + PROGRESS_INTERVAL_S
        self.last_with_peers = self.added

    def ms(self):
        return int((time.monotonic() - self.added) * 1000)

    def connect(self):
        for host, port in self.peers:
            self.handle.connect_peer((host, port))

    def on_alert(self, alert):
        if isinstance(alert, lt.metadata_received_alert):
            self.metadata()
        elif isinstance(alert, lt.torrent_finished_alert):
            self.metadata()
            self.finished()
        elif isinstance(alert, lt.peer_connect_alert):
            emit({"event": "peer_connected", "host": alert.endpoint[0], "port": alert.endpoint[1]})
        elif isinstance(alert, lt.peer_disconnected_alert):
            emit({"event": "peer_closed", "host": alert.endpoint[0], "port": alert.endpoint[1],
                  "reason": alert.message()})

    def metadata(self):
        if self.metadata_sent or not self.handle.status().has_metadata:
            return
        self.metadata_sent = True
        ti = self.handle.torrent_file()
        emit({"event": "metadata", "infohash": str(ti.info_hashes().v1), "name": ti.name(),
              "bytes": ti.total_size(), "pieces": ti.num_pieces(), "ms": self.ms()})

    def finished(self):
        status = self.handle.status()
        if self.complete_sent or not status.is_seeding:
            return
        self.complete_sent = True
        emit({"event": "complete", "infohash": str(status.info_hashes.v1), "bytes": status.total_wanted_done,
              "ms": self.ms(), "downloadedPayload": status.total_payload_download})

    def tick(self):
        now = time.monotonic()
        if now < self.next_progress or self.complete_sent:
            return
        self.next_progress = now + PROGRESS_INTERVAL_S
        status = self.handle.status()
        self.metadata()
        emit({"event": "progress", "have": status.num_pieces,
              "pieces": self.handle.torrent_file().num_pieces() if status.has_metadata else 0,
              "peers": status.num_peers, "down": status.download_payload_rate})
        if status.num_peers > 0:
            self.last_with_peers = now
        elif now - self.last_with_peers >= RECONNECT_AFTER_S:
            self.last_with_peers = now
            emit({"event": "reconnecting", "peers": len(self.peers)})
            self.connect()
        self.finished()


def parse_host_port(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def start_download(ses, source, save_path, peers):
    if source.startswith("magnet:"):
        atp = lt.parse_magnet_uri(source)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(source)
    atp.save_path = save_path
    handle = ses.add_torrent(atp)
    leech = Leech(handle, [parse_host_port(p) for p in peers])
    leech.connect()
    leech.metadata()  # a .torrent: known from the start
    emit({"event": "added", "infohash": str(handle.info_hashes().v1) if hasattr(handle, "info_hashes") else None})
    return leech


def handle(ses, words, scratch, seen):
    if not words:
        return True
    cmd = words[0]
    try:
        if cmd == "quit":
            return False
        if cmd == "announce" and len(words) >= 2:
            ih = parse_infohash(words[1])
            atp = lt.add_torrent_params()
            atp.info_hashes = lt.info_hash_t(ih)
            atp.save_path = scratch
            # Never download anything: the torrent exists only to be announced.
            atp.flags = lt.torrent_flags.upload_mode
            ses.add_torrent(atp)
            emit({"event": "announcing", "infohash": words[1].lower(), "port": ses.listen_port()})
        elif cmd == "get_peers" and len(words) >= 2:
            ses.dht_get_peers(parse_infohash(words[1]))
            seen.setdefault(words[1].lower(), set())
        elif cmd == "nodes":
            ses.post_dht_stats()
        else:
            emit({"event": "error", "code": "BAD_COMMAND", "message": " ".join(words)})
    except (ValueError, RuntimeError) as exc:
        emit({"event": "error", "code": "BAD_ARGUMENT", "message": f"{' '.join(words)}: {exc}"})
    return True


def on_alert(ses, alert, seen, seeding):
    if isinstance(alert, lt.dht_get_peers_reply_alert):
        ih = str(alert.info_hash)
        printed = seen.setdefault(ih, set())
        for host, port in alert.peers():
            if (host, port) not in printed:
                printed.add((host, port))
                emit({"event": "peer", "infohash": ih, "host": host, "port": port})
    elif isinstance(alert, lt.dht_stats_alert):
        emit({"event": "nodes", "count": sum(b["num_nodes"] for b in alert.routing_table)})
    elif isinstance(alert, (lt.torrent_finished_alert, lt.torrent_checked_alert)):
        handle_ = alert.handle
        status = handle_.status()
        ih = str(status.info_hashes.v1)
        if ih in seeding and not seeding[ih] and status.is_seeding:
            seeding[ih] = True
            emit({"event": "seeding", "infohash": ih, "magnet": lt.make_magnet_uri(handle_),
                  "tcpPort": ses.listen_port(), "name": status.name})
    elif isinstance(alert, (lt.dht_log_alert, lt.dht_pkt_alert)):
        sys.stderr.write(f"{alert.what()} {alert.message()}\n")
    elif alert.category() & lt.alert.category_t.error_notification:
        emit({"event": "warning", "what": alert.what(), "message": alert.message()})


if __name__ == "__main__":
    sys.exit(main())
