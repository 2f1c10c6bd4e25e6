#!/usr/bin/env python3
"""transform.py SRC DST — rewrites every kernel launch of a .cu/.cuh file for
the CPU emulator: NAME<<<GRID, BLOCK>>>(ARGS) becomes
ll_emu_launch(GRID, BLOCK, [=] { NAME(ARGS); }). Nothing else changes."""
import re
import sys


def matching_paren(s, i):
    """Index of the ')' closing the '(' at s[i]."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == '(':
            depth += 1
        elif s[j] == ')':
            depth -= 1
            if depth == 0:
                return j
    raise SystemExit("transform.py: unbalanced parentheses after a launch")


def transform(text):
    out, pos = [], 0
    launch = re.compile(r'([A-Za-z_]\w*)\s*<<<(.*?)>>>\s*\(', re.S)
    while True:
        m = launch.search(text, pos)
        if not m:
            out.append(text[pos:])
            return ''.join(out)
        close = matching_paren(text, m.end() - 1)
        args = text[m.end():close]
        out.append(text[pos:m.start()])
        out.append('ll_emu_launch(%s, [=] { %s(%s); })' % (m.group(2), m.group(1), args))
        pos = close + 1


if __name__ == '__main__':
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        text = f.read()
    with open(dst, 'w') as f:
        f.write('#line 1 "%s"\n' % src)
        f.write(transform(text))
