import sys

from wsemu.broker.server import main

sys.exit(main())
