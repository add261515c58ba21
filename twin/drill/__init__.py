"""Live drills (``twin drill``): the engine paced by a wall clock, driven by injects and by people's commands.

One module per concern: :mod:`~twin.drill.clock` (the real-time clock), :mod:`~twin.drill.msel` (the master
scenario events list), :mod:`~twin.drill.commands` (what can be sent, validated like scenario input),
:mod:`~twin.drill.roles` (roles, desks, tokens, the rate limit), :mod:`~twin.drill.journal` (the append-only,
fsynced journal), :mod:`~twin.drill.session` (engine + clock + journal + checkpoints, resume and replay),
:mod:`~twin.drill.views` (what the page is sent: the map, snapshots and deltas) and :mod:`~twin.drill.server`
(the Starlette app). Nothing here is imported by ``twin run``: the web stack loads only for ``twin drill``.
"""
