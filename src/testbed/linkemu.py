#!/usr/bin/env python3
"""Link emulator of the vnm test bed: one-way delay, jitter and random loss on veth links.

Used when the kernel has no tc netem (e.g. this project's CI machines). A shaped link A<->B between two
Open vSwitch ports becomes two veth pairs, A<->EA and EB<->B; this process reads every frame that
arrives on EA (sent by A) or EB (sent by B) through an AF_PACKET socket and writes it to the other
side after the configured delay, unless it is dropped. Rate limits stay in the kernel (tc tbf on A and
B). VLAN tags that the kernel strips into packet metadata are put back into the frame.

The carrier is mirrored too, so the pair behaves like one veth: EB is kept administratively up exactly
while A is (so B has a carrier only while A is up, as with a direct veth), and EA while B is.

    python3 linkemu.py CONFIG.json
CONFIG: {"ready": "/path/ready-file", "links": [{"a": "EA", "b": "EB", "peer_a": "A", "peer_b": "B",
         "delay_us": 1000, "jitter_us": 0, "loss_pct": 0.0}, ...]}
Runs in the test bed's lab namespace until SIGTERM/SIGINT; prints counters to stderr when it stops.
"""

import collections
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
AUX = struct.Struct("IIIHHHH")  # tpacket_auxdata
QUEUE_LIMIT = 20000  # frames per direction
IFF_UP = 0x1


def open_socket(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((ifname, ETH_P_ALL))
    s.setblocking(False)
    return s


class Direction:
    def __init__(self, name, rx, tx, delay, jitter, loss):
        self.name = name
        self.rx = rx
        self.tx = tx
        self.delay = delay
        self.jitter = jitter
        self.loss = loss
        self.queue = collections.deque()
        self.last = 0.0
        self.received = 0
        self.sent = 0
        self.lost = 0
        self.overflow = 0
        self.tx_errors = 0

    def drain(self, now):
        """Reads every frame waiting on rx and queues it for release."""
        for _ in range(512):
            try:
                data, anc, _flags, addr = self.rx.recvmsg(65536, socket.CMSG_SPACE(AUX.size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # ENETDOWN and friends: the interface went down; the socket stays bound and works again
                # when it comes back up.
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            self.received += 1
            if self.loss and random.random() * 100.0 < self.loss:
                self.lost += 1
                continue
            if len(self.queue) >= QUEUE_LIMIT:
                self.overflow += 1
                continue
            for level, ctype, cdata in anc:
                if level == SOL_PACKET and ctype == PACKET_AUXDATA and len(cdata) >= AUX.size:
                    status, _len, _snap, _mac, _net, tci, tpid = AUX.unpack_from(cdata)
                    if status & TP_STATUS_VLAN_VALID:
                        if not status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = 0x8100
                        data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
            release = now + self.delay
            if self.jitter:
                release += random.uniform(-self.jitter, self.jitter)
            release = max(release, self.last)  # no reordering
            self.last = release
            self.queue.append((release, data))

    def release(self, now):
        """Sends what is due; returns seconds until the next frame is due (or None)."""
        q = self.queue
        while q and q[0][0] <= now:
            _, data = q.popleft()
            try:
                self.tx.send(data)
                self.sent += 1
            except OSError:
                self.tx_errors += 1
        return q[0][0] - now if q else None


def admin_up(ifname):
    try:
        with open(f"/sys/class/net/{ifname}/flags") as f:
            return bool(int(f.read().strip(), 16) & IFF_UP)
    except OSError:
        return False


def set_up(ifname, up):
    path = f"/sys/class/net/{ifname}/flags"
    try:
        with open(path) as f:
            flags = int(f.read().strip(), 16)
        new = flags | IFF_UP if up else flags & ~IFF_UP
        if new != flags:
            with open(path, "w") as f:
                f.write(hex(new))
    except OSError as e:
        print(f"linkemu: {ifname}: cannot set flags: {e}", file=sys.stderr)


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    sel = selectors.DefaultSelector()
    directions = []
    pairs = []
    for link in cfg["links"]:
        sa = open_socket(link["a"])
        sb = open_socket(link["b"])
        d = link.get("delay_us", 0) / 1e6
        j = link.get("jitter_us", 0) / 1e6
        loss = float(link.get("loss_pct", 0))
        ab = Direction(f'{link["a"]}->{link["b"]}', sa, sb, d, j, loss)
        ba = Direction(f'{link["b"]}->{link["a"]}', sb, sa, d, j, loss)
        sel.register(sa, selectors.EVENT_READ, ab)
        sel.register(sb, selectors.EVENT_READ, ba)
        directions += [ab, ba]
        pairs.append((link["a"], link["b"], link["peer_a"], link["peer_b"]))

    stopping = []

    def stop(_sig, _frame):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if cfg.get("ready"):
        with open(cfg["ready"], "w") as f:
            f.write(str(os.getpid()))

    next_carrier = 0.0
    while not stopping:
        now = time.monotonic()
        if now >= next_carrier:
            for a, b, peer_a, peer_b in pairs:
                set_up(b, admin_up(peer_a))
                set_up(a, admin_up(peer_b))
            next_carrier = now + 0.05
        timeout = next_carrier - now
        for d in directions:
            t = d.release(now)
            if t is not None and t < timeout:
                timeout = t
        try:
            events = sel.select(max(timeout, 0))
        except InterruptedError:
            continue
        now = time.monotonic()
        for key, _ in events:
            key.data.drain(now)
        for d in directions:
            d.release(time.monotonic())

    for d in directions:
        print(
            f"linkemu: {d.name}: received {d.received} sent {d.sent} lost {d.lost} "
            f"overflow {d.overflow} tx_errors {d.tx_errors} queued {len(d.queue)}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
