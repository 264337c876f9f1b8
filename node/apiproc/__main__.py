"""`python -m node.apiproc --home HOME --channel-fd N --listen-fd M`: a node's API process."""

import sys

from node.apiproc.main import main

sys.exit(main())
