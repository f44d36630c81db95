"""Everything about the message infrastructure the hub and nodes talk through.

What lives here: ``client`` (the aiomqtt wrapper: MQTT 5, QoS 1, reconnect with
backoff, last will, bounded in-flight window), ``render`` (pure rendering of
mosquitto.conf, the password file and the ACL file from the node registry),
``localstack`` (starting local Mosquitto and Redis servers on free loopback ports
for the dev stack and the tests), ``stack`` (``dualclass stack up|down``) and
``exceptions``. WebRTC helpers live in ``webrtc``.

May import: protocols, aiomqtt, paho, the standard library.
Never hub or classroom_node.
"""
