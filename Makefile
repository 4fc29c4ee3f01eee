# Entry points. SwiftPM does the building; this file only adds what SwiftPM cannot: installing Debian packages.
.PHONY: setup build demo paper test bench data fuzz fuzz-ci fuzz-seeds clean

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

# libFuzzer on the readers (safetensors, config.json, trainer.safetensors, JSONL, PNG, JPEG): Fuzz/ is a separate
# package, built with -sanitize=fuzzer,address. FUZZ_SECONDS per target (default 60); fuzz-ci is the short pass.
FUZZ_SECONDS ?= 60
fuzz: setup
	@scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-ci: setup
	@scripts/fuzz.sh 10

# Rewrites the committed seed corpus Fuzz/corpus/ with the library's own writers.
fuzz-seeds: setup
	cd Fuzz && swift build --product FuzzSeeds && "$$(swift build --product FuzzSeeds --show-bin-path)/FuzzSeeds" corpus

clean:
	rm -rf .build out Fuzz/.build
