"""Made to hang: used to test --timeout and the clean-up when ckptlint itself is interrupted."""

import time

print("started", flush=True)
while True:
    time.sleep(1)
