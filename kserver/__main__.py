from kserver.cli import main

main()
