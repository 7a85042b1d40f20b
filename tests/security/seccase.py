#!/usr/bin/python3
"""seccase.py CASE.json: a fleet API attack case, run by tests/api/apicase.py
(loaded as a module, not copied), with fixtures an attack needs that
apicase's "roots" cannot make. Everything of apicase's case format holds;
in addition, under the top level of the case:

  "dirs": ["${WORK}/host", ...]               directories made before the server starts
  "files": {"${WORK}/host/f": "text", ...}    files (their directories made)
  "symlinks": {"${ROOTS}/a-link": "${ROOTS}/b1", ...}
  "fifos": ["${WORK}/fifo"]

and a step may be

  "files_unchanged": true     every file of "files" still has its text (a
                              check, not a request)
"""
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("OSMIG_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
spec = importlib.util.spec_from_file_location("apicase", os.path.join(SRC, "tests", "api", "apicase.py"))
apicase = importlib.util.module_from_spec(spec)
spec.loader.exec_module(apicase)


class SecRunner(apicase.Runner):
    def setup_fixtures(self):
        super().setup_fixtures()
        c = self.case
        for d in c.get("dirs", []):
            os.makedirs(self.subst(d), exist_ok=True)
        for path, text in c.get("files", {}).items():
            p = self.subst(path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(self.subst(text))
        for link, target in c.get("symlinks", {}).items():
            p = self.subst(link)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            os.symlink(self.subst(target), p)
        for p in c.get("fifos", []):
            os.mkfifo(self.subst(p))

    def do_step(self, i, st):
        if st.get("files_unchanged"):
            for path, text in self.case.get("files", {}).items():
                p = self.subst(path)
                try:
                    with open(p) as f:
                        got = f.read()
                except OSError as e:
                    apicase.fail("step %d (%s): %s: %s" % (i + 1, st.get("name", ""), p, e))
                if got != self.subst(text):
                    apicase.fail("step %d (%s): %s changed" % (i + 1, st.get("name", ""), p))
            print("ok step %d (%s)" % (i + 1, st.get("name", "")), flush=True)
            return
        super().do_step(i, st)


def main():
    apicase.main(SecRunner, "osm-sec-test.", __doc__)


if __name__ == "__main__":
    main()
