#!/usr/bin/env python3
"""The peer of `tocsin bench web`: libinjection on the same parts of the
same access-log lines as Tocsin's web detectors read (the path, every
query parameter's value decoded, the Referer and User-Agent headers).

Reads combined-format lines on stdin; writes one line per input,
"S X" (1 when libinjection's SQLi, resp. XSS, check fired on any part),
then "#seconds N": the time spent in the checks (parsing excluded).
Needs the libinjection-python package (pip install libinjection-python).
"""
import re
import sys
import time
from urllib.parse import unquote, unquote_plus

import libinjection

LINE = re.compile(r'^\S+ \S+ \S+ \[[^\]]*\] "(?:[A-Z]+ )?(\S*)[^"]*" \S+ \S+(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?')


def parts(line):
    m = LINE.match(line)
    if not m:
        return [line]
    target, referrer, agent = m.group(1), m.group(2) or "-", m.group(3) or "-"
    path, _, query = target.partition("?")
    out = [unquote(path)]
    for piece in query.split("&") if query else []:
        name, eq, value = piece.partition("=")
        out.append(unquote_plus(value if eq else name))
    for h in (referrer, agent):
        if h != "-":
            out.append(unquote(h))
    return out


def main():
    lines = [l.rstrip("\n") for l in sys.stdin]
    prepared = [parts(l) for l in lines]
    out = []
    start = time.perf_counter()
    for ps in prepared:
        s = x = False
        for p in ps:
            if not s and libinjection.is_sql_injection(p)["is_sqli"]:
                s = True
            if not x and libinjection.is_xss(p)["is_xss"]:
                x = True
        out.append(f"{int(s)} {int(x)}")
    secs = time.perf_counter() - start
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.write(f"#seconds {secs}\n")


if __name__ == "__main__":
    main()
