"""events_replay.py: the package-event replay of docs/events.md in plain
Python, the way Leapp runs it (json.load, then sets of names): the baseline
bench/events.sh times osmig against, and a cross-check of its results.

usage: events_replay.py PES.json PKGLIST.tsv SRC DST ARCH [RUNS]
prints REMOVE and INSTALL lines (names), then the median time on stderr.
Module streams are not modelled (the real PES files carry none)."""
import json, sys, time, resource

def replay(f, lst, src, dst, arch):
    d=json.load(open(f))
    inst={l.split('\t')[1] for l in open(lst) if l.strip()}
    evs=[]
    for e in d['packageinfo']:
        if e['architectures'] and arch not in e['architectures']: continue
        to=(e['release']['major_version'],e['release']['minor_version'])
        if not (src<to<=dst): continue
        fr=e['initial_release'] and (e['initial_release']['major_version'],e['initial_release']['minor_version']) or (0,0)
        ins=frozenset(p['name'] for p in e['in_packageset']['package'])
        outs=frozenset(p['name'] for p in (e['out_packageset'] or {}).get('package',[]))
        evs.append((e['id'],e['action'],ins,outs,fr,to))
    groups={}
    for ev in evs: groups.setdefault((ev[4],tuple(sorted(ev[2]))),[]).append(ev)
    keep=[]
    for g in groups.values():
        m=max(e[5] for e in g); best=[e for e in g if e[5]==m]
        keep += best if len(best)==1 else g
    keepids={id(e) for e in keep}
    evs=[e for e in evs if id(e) in keepids]
    tgt=set(inst); seen=set(inst)
    for rel in sorted({e[5] for e in evs}):
        snap=set(tgt)
        for (i,a,ins,outs,fr,to) in evs:
            if to!=rel: continue
            if a==0:
                tgt |= (ins & seen)
            elif a==2:
                if ins & snap: tgt |= ins
            else:
                if ins <= snap or (a==5 and ins & snap):
                    tgt -= ins; tgt |= outs
        seen |= tgt
    return inst - tgt, tgt - inst


if __name__ == '__main__':
    f, lst, arch = sys.argv[1], sys.argv[2], sys.argv[5]
    src = tuple(map(int, sys.argv[3].split('.')))
    dst = tuple(map(int, sys.argv[4].split('.')))
    runs = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        removed, installed = replay(f, lst, src, dst, arch)
        times.append((time.process_time() - t0) * 1000)
    print('REMOVE', ' '.join(sorted(removed)))
    print('INSTALL', ' '.join(sorted(installed)))
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print('events_replay.py: median of %d runs (CPU time): load + apply %.1f ms; peak RSS %.1f MiB'
          % (runs, times[len(times) // 2], rss), file=sys.stderr)
