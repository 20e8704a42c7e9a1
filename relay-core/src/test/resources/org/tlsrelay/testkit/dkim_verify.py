#!/usr/bin/python3
# Verifies every DKIM-Signature of a message with dkimpy (Debian's python3-dkim), an implementation independent of
# tlsrelay's signer. Key records are looked up with dnspython at a DNS server on 127.0.0.1:PORT, never the system's.
#
# Usage: dkim_verify.py PORT MESSAGE_FILE...
# Prints one JSON object per signature, top to bottom:
# {"message": index of the file, "d", "s", "a", "result": "pass" | "fail", "detail"}.
import json
import logging
import sys

import dkim
import dkim.util
import dns.rdatatype
import dns.resolver

port = int(sys.argv[1])

resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = port


def txt(name, timeout=5):
    name = name.decode("ascii") if isinstance(name, bytes) else name
    try:
        answer = resolver.resolve(name, "TXT", lifetime=timeout, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return None
    for rrset in answer.response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            return b"".join(list(rrset.items)[0].strings)
    return None


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


log = logging.getLogger("dkim_verify")
log.setLevel(logging.DEBUG)
collected = Collect()
log.addHandler(collected)

for number, path in enumerate(sys.argv[2:]):
    with open(path, "rb") as f:
        message = f.read()
    checker = dkim.DKIM(message, logger=log, minkey=1024)
    signatures = [v for (k, v) in checker.headers if k.lower() == b"dkim-signature"]
    for i, value in enumerate(signatures):
        collected.lines.clear()
        try:
            tags = dkim.util.parse_tag_value(value)
        except Exception as e:  # a malformed field: report it as a failure
            tags = {}
        try:
            ok = checker.verify(idx=i, dnsfunc=txt)
        except Exception as e:
            ok = False
            collected.lines.append(repr(e))
        print(json.dumps({
            "message": number,
            "d": tags.get(b"d", b"").decode("ascii", "replace"),
            "s": tags.get(b"s", b"").decode("ascii", "replace"),
            "a": tags.get(b"a", b"").decode("ascii", "replace"),
            "result": "pass" if ok else "fail",
            "detail": " | ".join(l for l in collected.lines if "fail" in l.lower() or "error" in l.lower()
                                 or "mismatch" in l.lower())[:500],
        }))
