import sys

from lineage_cli.main import main

sys.exit(main())
