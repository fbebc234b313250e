import sys

from tomjerry.cli import main

sys.exit(main())
