# Entry points. SwiftPM does the building; this file only adds what SwiftPM cannot: installing Debian packages.
.PHONY: setup build demo paper test bench data clean

setup:
	@scripts/setup.sh

build: setup
	swift build -c release

demo: build
	@scripts/demo.sh

paper: build
	@scripts/paper.sh

test: setup
	swift test

data: build
	@scripts/data.sh

bench: build
	.build/release/analyze bench

clean:
	rm -rf .build out
