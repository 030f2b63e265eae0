#!/usr/bin/env python3
"""Checks docs/ARCHITECTURE.md's layer list against the code (issue 24).

Usage: tools/check_architecture.py BUILD_DIR [ARCHITECTURE.md]

The document lists each folder of src/ and the folders its code may use, in a block that starts
with the line "<!-- layers -->". The code's dependencies between folders are of two kinds, and
both are read from the tree as built:
  - calls: an object of folder A needs a symbol that an object of folder B defines (nm);
  - includes: a file of folder A includes a header of folder B, a private one ("train/x.h") or a
    public one (include/simclr/H.h), whose folder is the one defining most of the functions it
    declares (headers declaring no function, e.g. type vocabularies, belong to no folder).
It fails, naming each, on a dependency the list does not allow, on a listed dependency the code
does not have (so the document stays true), on a folder missing from the list, and on a cycle.
"""
import collections
import glob
import os
import re
import subprocess
import sys


def folder_of(path):
    rel = path.split('/src/', 1)[1]
    return rel.split('/')[0]


def read_layers(doc):
    lines = open(doc, encoding='utf-8').read().splitlines()
    try:
        start = lines.index('<!-- layers -->')
    except ValueError:
        sys.exit(f'{doc}: no "<!-- layers -->" block')
    layers, inside = {}, False
    for line in lines[start + 1:]:
        if line.startswith('```'):
            if inside:
                break
            inside = True
            continue
        if not inside or not line.strip():
            continue
        name, _, used = line.partition(':')
        if not _:
            sys.exit(f'{doc}: layer line "{line}": expected "folder: folders it uses"')
        layers[name.strip()] = set(used.split())
    return layers


def symbols(objects):
    defined, needed = {}, collections.defaultdict(set)
    for obj in objects:
        folder = folder_of(obj)
        out = subprocess.run(['nm', '--defined-only', '-g', obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                defined.setdefault(parts[2], collections.Counter())[folder] += 1
        out = subprocess.run(['nm', '-u', obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            needed[folder].add(line.split()[-1])
    return defined, needed


def main():
    build = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    doc = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, 'docs', 'ARCHITECTURE.md')
    layers = read_layers(doc)
    objects = sorted(set(glob.glob(os.path.join(build, 'CMakeFiles', '*.dir', 'src', '**', '*.o'), recursive=True)))
    sources = {folder_of(p): None for p in glob.glob(os.path.join(root, 'src', '*', '**', '*.c*'), recursive=True)}
    # Objects of sources that no longer exist (moved files) are ignored.
    live = []
    for obj in objects:
        rel = obj.split('/src/', 1)[1][:-2]
        if os.path.exists(os.path.join(root, 'src', rel)):
            live.append(obj)
    defined, needed = symbols(live)
    edges = collections.defaultdict(dict)  # edges[a][b] = an example
    for folder, names in needed.items():
        for name in sorted(names):
            for owner in defined.get(name, ()):
                if owner != folder:
                    edges[folder].setdefault(owner, f'calls {name}')
    # Public headers: the folder defining most of the functions each declares.
    header_owner = {}
    for header in glob.glob(os.path.join(root, 'include', 'simclr', '*.h')):
        text = open(header, encoding='utf-8').read()
        votes = collections.Counter()
        for name in set(re.findall(r'\b(simclr_\w+)\s*\(', text)):
            for owner, count in defined.get(name, {}).items():
                votes[owner] += 1
        if votes:
            header_owner['simclr/' + os.path.basename(header)] = votes.most_common(1)[0][0]
    for path in glob.glob(os.path.join(root, 'src', '*', '**', '*.*'), recursive=True):
        if not path.endswith(('.c', '.h', '.cpp')):
            continue
        folder = folder_of(path)
        for included in re.findall(r'^#include "([^"]+)"', open(path, encoding='utf-8').read(), re.M):
            owner = header_owner.get(included) if included.startswith('simclr/') else (
                included.split('/')[0] if '/' in included else None)
            if owner and owner != folder and owner in sources:
                edges[folder].setdefault(owner, f'{os.path.relpath(path, root)} includes {included}')
    if os.environ.get('SIMCLR_ARCHITECTURE_PRINT'):
        for folder in sorted(sources):
            print(f'{folder}: ' + ' '.join(sorted(edges.get(folder, {}))))
            for used, example in sorted(edges.get(folder, {}).items()):
                print(f'    {used}: {example}')
        return 0
    problems = []
    for folder in sorted(sources):
        if folder not in layers:
            problems.append(f'src/{folder}: not in the layer list of {doc}')
    for folder in sorted(layers):
        if folder not in sources:
            problems.append(f'{folder}: in the layer list, but src/{folder} holds no code')
        for used, example in sorted(edges.get(folder, {}).items()):
            if used not in layers.get(folder, set()):
                problems.append(f'{folder} uses {used} ({example}), which the layer list does not allow')
        for used in sorted(layers[folder]):
            if used not in edges.get(folder, {}):
                problems.append(f'{folder}: the layer list says it uses {used}, but its code does not')
    # A cycle in the list.
    state = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(layers.get(node, ())):
            if state.get(nxt) == 1:
                problems.append('a cycle: ' + ' -> '.join(path + [node, nxt]))
            elif nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for node in sorted(layers):
        if node not in state:
            visit(node, [])
    for problem in problems:
        print('FAIL - ' + problem)
    checked = sum(len(v) for v in edges.values())
    print(f'{len(layers)} folders, {checked} dependencies between them checked, {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
