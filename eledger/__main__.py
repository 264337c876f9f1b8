from eledger.cli import main

main()
