"""Media test tooling: a synthetic camera/microphone and a reference participant.

- ``testsource``  video and audio tracks whose frames say who sent them and when
- ``participant`` ``ParticipantPeer``: answers the hub relay's offer, sends a
                  test source, counts (and optionally decodes) what arrives

Used by the tests and ``bench/relay.py``; no production process imports it.
"""
