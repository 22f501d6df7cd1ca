"""A local fake of the FlickRocket platform (admin shell, OAuth, REST API, webhooks).

It is a Django project of its own with all state in memory, meant to run as ONE
gunicorn process (see ``sandbox/serve.py``). It deliberately shares no code with the
app: every signature here is implemented independently from docs/flickrocket.md, so a bug
in the app's verifier cannot hide behind the same bug in the sandbox's signer.
"""
