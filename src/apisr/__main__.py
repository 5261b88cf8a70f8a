import sys

from apisr.cli.main import main

sys.exit(main())
