#!/usr/bin/env python3
"""gen-manpage.py OSMIG OUT: write osmig(8) from the binary's own help.

The synopsis and the command list are `osmig --help`; each command's
section is `osmig help COMMAND`, verbatim (.nf), so the page says exactly
what --help says (tests/cli/man_page_matches_help.sh checks it). Only the
sections no --help has (files, environment, exit status) are written here.
"""
import os
import subprocess
import sys


def run(osmig, *args):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", OSMIG_NO_AUTO_RESUME="1")
    return subprocess.run([osmig, *args], check=True, stdout=subprocess.PIPE, env=env, text=True).stdout


def esc(text):
    """Verbatim text as troff: backslashes, leading dots and quotes, minus signs."""
    out = []
    for line in text.rstrip("\n").split("\n"):
        line = line.replace("\\", "\\e").replace("-", "\\-")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def block(text):
    return ".nf\n" + esc(text) + "\n.fi\n"


def main():
    osmig, out = sys.argv[1], sys.argv[2]
    top = run(osmig, "--help")
    version = run(osmig, "version").strip()
    head, _, rest = top.partition("\ncommands:\n")
    synopsis = head.strip("\n").removeprefix("usage: ")
    listed = [l for l in rest.split("\n\n")[0].split("\n") if l.strip()]
    commands = [l.split()[0] for l in listed]
    command_list = "\n".join(listed)
    page = [
        '.TH OSMIG 8 "" "%s" "System Administration"' % esc(version),
        ".SH NAME",
        "osmig \\- migrate operating systems: assess, plan, migrate, roll back",
        ".SH SYNOPSIS",
        block(synopsis).rstrip("\n"),
        ".SH COMMANDS",
        block(command_list).rstrip("\n"),
        ".SH DESCRIPTION",
        "Each command below is described by its own help text, as",
        ".B osmig help",
        ".I COMMAND",
        "prints it.",
    ]
    for c in commands:
        page += [".SS osmig %s" % esc(c), block(run(osmig, "help", c)).rstrip("\n")]
    page += [
        ".SH FILES",
        ".TP", "/etc/osmig/osmig.conf", "configuration: key = value lines (see docs/config.md)",
        ".TP", "/etc/osmig/matrices.d/", "site migration matrices, read after the built-in ones",
        ".TP", "/var/lib/osmig", "the state directory: the task store, task directories",
        ".TP", "/var/log/osmig", "reports: INSTANCE/RUN/osmig\\-report.{txt,json,html}, INSTANCE/latest",
        ".TP", "/var/cache/osmig", "repository metadata, safe to delete",
        ".SH ENVIRONMENT",
        ".TP", "OSMIG_CONFIG", "the configuration file instead of /etc/osmig/osmig.conf",
        ".TP", "OSMIG_STATE_DIR, OSMIG_REPORT_DIR, OSMIG_CACHE_DIR, OSMIG_SERVER",
        "what \\-\\-state\\-dir, \\-\\-report\\-dir, \\-\\-cache\\-dir and \\-\\-server set",
        ".SH EXIT STATUS",
        "0 success, 1 error, 2 usage error, 3 migration inhibited.",
    ]
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(page) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
