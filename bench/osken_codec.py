#!/usr/bin/python3
"""Times os-ken's OpenFlow 1.3 parser on the same messages as bench/codec.ts.

Reads a JSON object from stdin: {"seconds": S, "messages": {"packetIn": HEX, "flowMod": HEX,
"packetOut": HEX, "flowStatsReply": HEX}} and prints one JSON object:
{"osken": VERSION, "results": {NAME: {"decode": per_sec | null, "encode": per_sec | null,
"sameBytes": bool | null}}}.

decode = ofproto_parser.header() + ofproto_parser.msg(), the path os-ken's controller takes for
every message it reads. encode = msg.serialize() on a pre-built message object (os-ken has no
serializer for switch-to-controller messages such as packet-in and multipart replies: null).
Exit status 3 if os_ken cannot be imported.
"""
import json
import sys
import time

try:
    import os_ken
    from os_ken.ofproto import ofproto_parser, ofproto_protocol
    from os_ken.ofproto import ofproto_v1_3 as ofp
    from os_ken.ofproto import ofproto_v1_3_parser as parser
except Exception as e:  # noqa: BLE001
    print(json.dumps({"error": "cannot import os_ken: %s" % e}))
    sys.exit(3)


def rate(fn, seconds):
    """Calls per second of fn, measured over about `seconds` (best of 5 rounds)."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt > 0.05:
            break
        n *= 2
    per_round = max(1, int(n * (seconds / 5) / dt))
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(per_round):
            fn()
        dt = time.perf_counter() - t
        best = max(best, per_round / dt)
    return best


def main():
    cfg = json.load(sys.stdin)
    seconds = float(cfg.get("seconds", 1.0))
    msgs = {k: bytes.fromhex(v) for k, v in cfg["messages"].items()}
    dp = ofproto_protocol.ProtocolDesc(version=ofp.OFP_VERSION)

    def decoder(buf):
        def run():
            version, msg_type, msg_len, xid = ofproto_parser.header(buf)
            return ofproto_parser.msg(dp, version, msg_type, msg_len, xid, buf)
        return run

    frame = msgs["packetIn"][-64:]
    flow_mod = parser.OFPFlowMod(
        dp, cookie=0, cookie_mask=0, table_id=0, command=ofp.OFPFC_ADD, idle_timeout=0,
        hard_timeout=0, priority=32768, buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY, flags=0,
        match=parser.OFPMatch(in_port=1, eth_dst="00:11:22:33:44:55"),
        instructions=[parser.OFPInstructionActions(
            ofp.OFPIT_APPLY_ACTIONS, [parser.OFPActionOutput(2, 0)])])
    packet_out = parser.OFPPacketOut(
        dp, buffer_id=ofp.OFP_NO_BUFFER, in_port=ofp.OFPP_CONTROLLER,
        actions=[parser.OFPActionOutput(1, 0)], data=frame)
    encoders = {"flowMod": flow_mod, "packetOut": packet_out}

    results = {}
    for name, buf in msgs.items():
        decoded = decoder(buf)()
        entry = {"decode": rate(decoder(buf), seconds) if decoded is not None else None,
                 "encode": None, "sameBytes": None}
        obj = encoders.get(name)
        if obj is not None:
            obj.serialize()
            entry["sameBytes"] = bytes(obj.buf) == buf
            entry["encode"] = rate(obj.serialize, seconds)
        results[name] = entry
    print(json.dumps({"osken": getattr(os_ken, "__version__", "?"), "python": sys.version.split()[0],
                      "results": results}))


if __name__ == "__main__":
    main()
