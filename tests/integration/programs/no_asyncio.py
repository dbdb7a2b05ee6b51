"""Never imports asyncio (nor anything that does); reports whether asyncio
ended up in sys.modules anyway."""
import json
import logging
import os
import sys
import threading

logging.basicConfig(level=logging.ERROR)
logging.getLogger("no_asyncio").info("not shown")
th = threading.Thread(target=lambda: None)
th.start()
th.join()
with open(os.devnull) as f:
    f.read()
print(json.dumps({m: m in sys.modules for m in ("asyncio", "_asyncio", "uvloop")}, sort_keys=True))
