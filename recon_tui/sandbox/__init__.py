"""A loopback emulator of QuickBooks Online, ConnectWise PSA and Autotask.

It serves the sample book in each API's own envelopes over real HTTP, so the
demo and the tests run the very same connectors a user's real accounts use.
"""
