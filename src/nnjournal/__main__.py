from nnjournal.cli import main

main()
