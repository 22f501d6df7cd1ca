"""``python -m sandbox [--port N]`` starts the sandbox (same as ``python -m sandbox.serve``)."""

from sandbox.serve import main

if __name__ == "__main__":
    main()
