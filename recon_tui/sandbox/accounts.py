"""The accounts the emulator accepts: its QuickBooks company and app, its
ConnectWise API member (config.example.toml and the demo use the same values)."""

from __future__ import annotations

SANDBOX_REALM = "9130355377388383"
SANDBOX_LEDGER = {"client_id": "sandbox-client", "client_secret": "sandbox-secret",
                  "refresh_token": "sandbox-refresh-token"}
SANDBOX_CONNECTWISE = {"company_id": "sandbox", "public_key": "sandbox-public",
                       "private_key": "sandbox-private",
                       "client_id": "00000000-0000-0000-0000-000000000000"}
