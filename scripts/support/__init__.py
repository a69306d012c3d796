"""Helpers that the scripts, the benchmarks (bench/) and the tests share, so each is written once.

- `network`: a free loopback port, whether a TCP port answers, waiting for a URL to answer.
- `processes`: a child process in a process group of its own with its output in a file, stopped with SIGTERM
  and then SIGKILL; the project's tools beside this interpreter; a process's descendants.
- `databases`: create (when missing), drop or recreate a PostgreSQL database named by a URL; a URL from a
  Django DATABASES entry.
- `production_env`: throwaway secrets for starting the production settings outside production.
- `gunicorn`: the project under gunicorn on a free port, once every worker has loaded it.
- `machine`: what a benchmark ran on (CPUs, the commit) and how busy the machine is.
- `moto`: a throwaway moto server (AWS emulator) on loopback.

Application code (apps/, planner/) never imports these; tests, scripts and benchmarks do.
"""
