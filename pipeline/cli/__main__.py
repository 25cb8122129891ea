"""`python -m pipeline.cli.main`: the same as the `trafficcam` command."""

import sys

from pipeline.cli.main import main

sys.exit(main())
