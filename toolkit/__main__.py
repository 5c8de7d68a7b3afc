"""Allow `python -m toolkit` as an alias of the `podkit` command."""
from toolkit.cli import main

if __name__ == "__main__":
    main()
