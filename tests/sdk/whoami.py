"""One Databricks SDK WorkspaceClient, asked who the user is COUNT times, PAUSE seconds apart.

Run by gw's tests through `gw exec --target databricks` (tests/agents.rs): the client is
configured from the environment gw gives it, and must keep answering across token expiries.
Prints one `me=<userName> auth=<auth_type>` line per call; exits 1 with the SDK's error.
"""

import sys
import time

from databricks.sdk import WorkspaceClient


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    w = WorkspaceClient()
    for i in range(count):
        if i:
            time.sleep(pause)
        try:
            me = w.current_user.me()
        except Exception as e:  # the SDK's own message is what the test shows
            print(f"error={type(e).__name__}: {e}", flush=True)
            return 1
        print(f"me={me.user_name} auth={w.config.auth_type}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
