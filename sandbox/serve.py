"""Start the sandbox: ``python -m sandbox.serve [--host 127.0.0.1] [--port 8100]``.

Replaces this process with gunicorn (so a parent that started us can stop the server
by our pid). Exactly one worker: the platform's state is in that worker's memory;
concurrency comes from threads.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8100")))
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    os.environ["DJANGO_SETTINGS_MODULE"] = "sandbox.settings"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "sandbox.wsgi",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(args.threads),
        # The timeout fault sleeps 30 s by default; gthread's worker timeout is a
        # heartbeat, but leave room anyway. Short graceful stop: tests restart often.
        "--timeout",
        "300",
        "--graceful-timeout",
        "2",
        "--log-level",
        args.log_level,
        # Several sandboxes (tests, benchmarks, the demo) run at once: no shared control socket.
        "--no-control-socket",
    ]
    if args.access_log:
        command += ["--access-logfile", "-"]
    print(f"FlickRocket sandbox on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
