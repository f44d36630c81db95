"""WebRTC helpers shared by every process that holds a peer connection.

The hub's relay, the classroom node's media and the simulators' reference
participant all use aiortc the same way; what they share lives here rather than
in any one of them:

- ``ice``              which host addresses ICE offers (loopback in tests) and the
                       one ``RTCConfiguration`` (no public STUN, max-bundle)
- ``aiortc_internals`` the ONLY place that touches aiortc's private internals
                       (taps for encoded frames, the pack path, keyframe requests)
- ``iceservers``       pure: STUN/TURN server lists and short-lived TURN REST
                       credentials (HMAC of coturn's shared secret), minted per join
- ``bitstream``        pure: is this encoded VP8/H.264 frame a keyframe?
- ``exceptions``       one tree, root ``WebRTCError``

May import: aiortc, aioice, av, pydantic (``iceservers``) and the standard library.
Never a component (hub, classroom_node, simulators) nor broker.
"""
