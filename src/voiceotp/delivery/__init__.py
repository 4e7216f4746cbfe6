"""Delivery at run time: accepted calls -> queue -> dialer worker -> call records -> push.

``config`` holds the settings; ``runtime`` builds and runs the pieces (in ``voiceotp
serve``'s process, or alone in ``voiceotp dialer``). See docs/delivery.md.
"""
