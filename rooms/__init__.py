"""The network's rooms — the network feature's home (the top level keeps this name).

What belongs here: the configured topology (`topology`: the Space, location, topic,
partners and advisory rooms, validated), which Matrix rooms are the network's (`network`),
provisioning them (`provisioning`), who is a member of which (`membership`), arrivals and
the welcomes they get (`arrivals`, `welcome`), per-room settings and the language a reader
gets (`settings`), the private rooms the bot opens for members (`private`), and how the
network's answers read (`messages`). `feature` wires it into the bot; `!provision`,
`!rooms` and `!members` are in `commands/network.py`.
"""
