# LineGuard. `make` alone prints this help.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
EXTRAS  ?= dev,train,central

.DEFAULT_GOAL := help
.PHONY: help venv run test bench model data distill round-plus grown scratch prompts demo-audio clean bench-kws central bench-central

help:  ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

GNUSPEECH := models/kwstrain/gnuspeech

$(STAMP): pyproject.toml edge/scripts/system-deps.sh $(GNUSPEECH)/package-lock.json
	edge/scripts/system-deps.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	npm ci --prefix $(GNUSPEECH) --no-audit --no-fund --loglevel=error || \
		echo "warning: GnuSpeech (an optional training voice, split train12) not installed: npm ci failed"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install LineGuard (+ Debian packages if missing)

run: $(STAMP)  ## run the gateway (simulated line with the demo call unless the config names hardware)
	$(BIN)/lineguard run $(if $(CONFIG),--config $(CONFIG))

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest -q

bench: $(STAMP) bench-kws  ## speed and memory figures (whole pipeline, keyword spotter)
	$(BIN)/python edge/scripts/bench_pipeline.py

prompts: $(STAMP)  ## regenerate the bundled warning prompts (espeak-ng)
	$(BIN)/python edge/scripts/make_prompts.py

demo-audio: $(STAMP)  ## regenerate the bundled demo call
	$(BIN)/python edge/scripts/make_demo_call.py

KWS_PY := PYTHONPATH=edge:models $(BIN)/python

data: $(STAMP)  ## synthesize the keyword-spotter train/val/test audio (models/build, ~125 min on 2 cores)
	$(KWS_PY) -m kwstrain.pipeline data

KWS_BUILD := models/build

# the shipped recipe (MODEL_CARD.md): a base model, continued copies on differently noisy lines
# (share of clips with added noise) and seeds, their weights averaged; that soup widened in the
# head (Net2WiderNet) and continued the same four ways, averaged again; that soup continued once
# more on two lines, each with and without the accented speakers (train11), averaged a third time; that
# soup continued once more with extra conversation (train13) and averaged with its start (round 4);
# that soup continued once more with the rest of the extra conversation (train14, and train15 read by
# Piper, round 5); that once more with the wide text pool added (train16, and train17 read by Piper)
# and averaged with its start (round 6); that once more with the rest of the wide pool (train18, train19) and
# averaged with its start (round 7); that once more with the keywords' rhymes (train20) added, mining in runs
# of sentences, and averaged with its start (round 9); that continued three times with the keywords' own
# clips (train2: English only, Korean only, both; round 17) and the three averaged, the both-languages copy
# twice (round 18: v51, shipped); evaluated on both lines. (Continue copies one after the other: round 7 alone peaks
# at ~17 GB.)
SOUP_COPIES  := noisy:0.85:0 quieter:0.6:0 quiet:0.3:0 mid:0.45:1
ROUND3       := noisy:0.85:0 quiet:0.3:0
WIDE_HEAD    := --head-channels 48 --dense-units 96
WITH_ACCENTS := --continue-splits train train7 train8 train9 train11
# round 4: the third soup continued once on the middle line with train13's extra conversation, averaged with its start
ROUND4       := --noise-prob 0.6 --seed 0 --continue-splits train train7 train8 train13
# round 5: the round-4 soup continued the same way with train14 and train15 added
ROUND5       := $(ROUND4) train14 train15
# round 6: the round-5 model continued the same way with train16 and train17 (the wide text pool) added,
# averaged with its start
ROUND6       := $(ROUND5) train16 train17
# round 7: the round-6 soup continued the same way with the rest of the wide pool (train18, train19) added,
# averaged with its start
ROUND7       := $(ROUND6) train18 train19
# round 9: the round-7 soup continued the same way with the keywords' rhymes (train20) added and hard
# negatives mined from runs of three sentences, averaged with its start. Round 17 names one more split after
# these flags (so the split list comes last): the round-9 soup continued the same way with the keywords' own
# clips (train2) added, one copy per language (train2@en, train2@ko) and one with both; round 18: the three
# averaged, the both-languages copy twice, quantized with the both-languages set
ROUND9       := --mine-runs 3 $(ROUND7) train20
# $(call continue_copies,START,PREFIX,FLAGS[,LINES]): START continued once per line (default SOUP_COPIES)
# into KWS_BUILD/PREFIX<name>
define continue_copies
for copy in $(or $(4),$(SOUP_COPIES)); do set -- $$(echo $$copy | tr : ' '); \
	$(KWS_PY) -m kwstrain.pipeline continue --noise-prob $$2 --seed $$3 $(3) \
		--start $(1) --out $(KWS_BUILD)/$(2)$$1/lineguard_kws || exit 1; done
endef
# $(call copies_of,PREFIX[,LINES]): the models continue_copies wrote under PREFIX
copies_of = $(foreach copy,$(or $(2),$(SOUP_COPIES)),$(KWS_BUILD)/$(1)$(word 1,$(subst :, ,$(copy)))/lineguard_kws.tflite)
model: data  ## train, quantize and evaluate the keyword model from nothing (models/lineguard_kws.tflite)
	$(KWS_PY) -m kwstrain.pipeline data --splits train2 train8 train9 train11 train13 train14 train15 train16 train17 train18 train19 train20
	$(KWS_PY) -m kwstrain.pipeline train --out $(KWS_BUILD)/base/lineguard_kws
	$(call continue_copies,$(KWS_BUILD)/base/lineguard_kws.tflite,,)
	$(KWS_PY) -m kwstrain.pipeline soup --noise-prob 0.6 --out $(KWS_BUILD)/soup/lineguard_kws --soup $(call copies_of,)
	$(call continue_copies,$(KWS_BUILD)/soup/lineguard_kws.tflite,wide-,$(WIDE_HEAD))
	$(KWS_PY) -m kwstrain.pipeline soup --noise-prob 0.6 --out $(KWS_BUILD)/wide-soup/lineguard_kws \
		--soup $(call copies_of,wide-)
	$(call continue_copies,$(KWS_BUILD)/wide-soup/lineguard_kws.tflite,r3-,$(WIDE_HEAD),$(ROUND3))
	$(call continue_copies,$(KWS_BUILD)/wide-soup/lineguard_kws.tflite,r3a-,$(WIDE_HEAD) $(WITH_ACCENTS),$(ROUND3))
	$(KWS_PY) -m kwstrain.pipeline soup --noise-prob 0.6 --out $(KWS_BUILD)/r3-soup/lineguard_kws \
		--soup $(call copies_of,r3-,$(ROUND3)) $(call copies_of,r3a-,$(ROUND3))
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND4) --start $(KWS_BUILD)/r3-soup/lineguard_kws.tflite \
		--out $(KWS_BUILD)/r4/lineguard_kws
	$(KWS_PY) -m kwstrain.pipeline soup $(ROUND4) --out $(KWS_BUILD)/r4-soup/lineguard_kws \
		--soup $(KWS_BUILD)/r3-soup/lineguard_kws.tflite $(KWS_BUILD)/r4/lineguard_kws.tflite
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND5) --start $(KWS_BUILD)/r4-soup/lineguard_kws.tflite \
		--out $(KWS_BUILD)/r5/lineguard_kws
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND6) --start $(KWS_BUILD)/r5/lineguard_kws.tflite \
		--out $(KWS_BUILD)/r6/lineguard_kws
	$(KWS_PY) -m kwstrain.pipeline soup $(ROUND6) --out $(KWS_BUILD)/r6-soup/lineguard_kws \
		--soup $(KWS_BUILD)/r5/lineguard_kws.tflite $(KWS_BUILD)/r6/lineguard_kws.tflite
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND7) --start $(KWS_BUILD)/r6-soup/lineguard_kws.tflite \
		--out $(KWS_BUILD)/r7/lineguard_kws
	$(KWS_PY) -m kwstrain.pipeline soup $(ROUND7) --out $(KWS_BUILD)/r7-soup/lineguard_kws \
		--soup $(KWS_BUILD)/r6-soup/lineguard_kws.tflite $(KWS_BUILD)/r7/lineguard_kws.tflite
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND9) --start $(KWS_BUILD)/r7-soup/lineguard_kws.tflite \
		--out $(KWS_BUILD)/r9/lineguard_kws
	$(KWS_PY) -m kwstrain.pipeline soup $(ROUND9) --out $(KWS_BUILD)/r9-soup/lineguard_kws \
		--soup $(KWS_BUILD)/r7-soup/lineguard_kws.tflite $(KWS_BUILD)/r9/lineguard_kws.tflite
	for keywords in en ko both; do \
		$(KWS_PY) -m kwstrain.pipeline continue $(ROUND9) train2$$(test $$keywords = both || echo @$$keywords) \
			--start $(KWS_BUILD)/r9-soup/lineguard_kws.tflite --out $(KWS_BUILD)/r17-$$keywords/lineguard_kws || exit 1; done
	$(KWS_PY) -m kwstrain.pipeline soup $(ROUND9) train2 --soup $(KWS_BUILD)/r17-en/lineguard_kws.tflite \
		$(KWS_BUILD)/r17-ko/lineguard_kws.tflite $(KWS_BUILD)/r17-both/lineguard_kws.tflite \
		$(KWS_BUILD)/r17-both/lineguard_kws.tflite
	$(KWS_PY) -m kwstrain.evaluate --write-threshold --line noisy quiet

# Distillation (EXPERIMENTS.md, "Ensembles of v51's parts and the later copies"): five copies trained apart from
# one another — v51's parts (v50 continued with train2's English, Korean and both languages' keyword clips: round
# 17), the both-languages copy continued once more (round 18) and v51 continued on mostly clean lines (round 21) —
# averaged per window are ahead of v51 on val (25.5% against 27.1%) but cost five networks. `make distill` trains
# them (v50, their start, read from this repository's history), continues v51 towards their averaged answers
# (`continue --teachers`) and compares the student and the ensemble with v51 on val. About 4.5 h on 2 cores;
# every step writes a file, so an interrupted run goes on where it stopped. It does not replace the shipped model.
DISTILL     := $(KWS_BUILD)/distill
V50_COMMIT  := bef5833
ROUND17     := $(ROUND9) train2
# round 17's clip sets and val's: what the distill and round-plus runs read
ROUND17_DATA := $(foreach s,train train7 train8 train13 train14 train15 train16 train17 train18 train19 train20 \
	train2 val val2 val3 val4 val5,$(KWS_BUILD)/clips_$(s).npz)
TEACHERS    := $(foreach t,r17-en r17-ko r17-both r17-both r18 r21,$(DISTILL)/$(t)/lineguard_kws.tflite)

$(KWS_BUILD)/clips_%.npz: | $(STAMP)
	$(KWS_PY) -m kwstrain.pipeline data --splits $*

$(DISTILL)/v50.tflite:
	mkdir -p $(DISTILL)
	git show $(V50_COMMIT):models/lineguard_kws.json > $(DISTILL)/v50.json && \
	git show $(V50_COMMIT):models/lineguard_kws.tflite > $@.part && mv $@.part $@ || \
	{ rm -f $@.part; echo "make distill: v50 is read from commit $(V50_COMMIT); this checkout has no such history"; exit 1; }

$(DISTILL)/r17-%/lineguard_kws.tflite: $(DISTILL)/v50.tflite | $(ROUND17_DATA)
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND17)$(if $(filter both,$*),,@$*) --start $< --out $(@:.tflite=)

$(DISTILL)/r18/lineguard_kws.tflite: $(DISTILL)/r17-both/lineguard_kws.tflite | $(ROUND17_DATA)
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND17) --start $< --out $(@:.tflite=)

$(DISTILL)/r21/lineguard_kws.tflite: | $(ROUND17_DATA)
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND17) --noise-prob 0.3 --start models/lineguard_kws.tflite \
		--out $(@:.tflite=)

$(DISTILL)/student/lineguard_kws.tflite: $(sort $(TEACHERS)) | $(ROUND17_DATA)
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND17) --start models/lineguard_kws.tflite --out $(@:.tflite=) \
		--teachers $(TEACHERS) --teacher-weight 0.7

distill: $(STAMP) $(DISTILL)/student/lineguard_kws.tflite  ## an ensemble of five copies distilled into one network, compared with v51 on val (~4.5 h)
	$(KWS_PY) -m kwstrain.significance models/lineguard_kws.tflite $(DISTILL)/student/lineguard_kws.tflite \
		$(subst $(eval) ,+,$(TEACHERS)) --cache $(KWS_BUILD)/units --joint | tee $(DISTILL)/significance.txt

# One more full round (EXPERIMENTS.md, "MBROLA again"): v51 continued the round-17 way with the clip sets in PLUS
# added (default train25; `PLUS=` alone is the control, v51 continued on round 17's sets as they are), averaged
# with v51 as the shipped rounds do, and both compared with v51 on val, written to KWS_BUILD/plus-<sets>/
# significance.txt. Measured on a fresh 2-core machine: round 17's and val's clip sets 87 min, the continue ~40
# min, the comparison ~10 min (under an hour in all when round 17's clip sets are already built); every step writes a
# file, so a stopped run goes on where it stopped. It does not replace the shipped model.
PLUS        ?= train25
PLUS_DIR    := $(KWS_BUILD)/plus-$(or $(subst $(eval) ,-,$(strip $(PLUS))),none)

$(PLUS_DIR)/copy/lineguard_kws.tflite: | $(ROUND17_DATA) $(foreach s,$(PLUS),$(KWS_BUILD)/clips_$(s).npz)
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND17) $(PLUS) --start models/lineguard_kws.tflite --out $(@:.tflite=)

$(PLUS_DIR)/soup/lineguard_kws.tflite: $(PLUS_DIR)/copy/lineguard_kws.tflite
	$(KWS_PY) -m kwstrain.pipeline soup $(ROUND17) $(PLUS) --out $(@:.tflite=) --soup models/lineguard_kws.tflite $<

round-plus: $(STAMP) $(PLUS_DIR)/soup/lineguard_kws.tflite  ## v51 continued once more with the clip sets in PLUS (default train25), against v51 on val (~2.3 h)
	$(KWS_PY) -m kwstrain.significance models/lineguard_kws.tflite $(PLUS_DIR)/copy/lineguard_kws.tflite \
		$(PLUS_DIR)/soup/lineguard_kws.tflite --cache $(KWS_BUILD)/units --joint | tee $(PLUS_DIR)/significance.txt

# A network of another shape from v51's function (EXPERIMENTS.md, "The dense copies that never parted"): v51's
# identical dense units merged and its blocks widened to GROWN_BLOCKS (both keep the function), continued the
# round-17 way, compared with v51 on val, written to KWS_BUILD/grown-<blocks>/significance.txt. On a fresh 2-core
# machine: round 17's and val's clip sets ~100-120 min, the continue ~45 min, the comparison ~8 min. It does not
# replace the shipped model.
GROWN_BLOCKS ?= 80 80 128 128
GROWN_DIR    := $(KWS_BUILD)/grown-$(subst $(eval) ,-,$(strip $(GROWN_BLOCKS)))

$(GROWN_DIR)/lineguard_kws.tflite: | $(ROUND17_DATA)
	$(KWS_PY) -m kwstrain.pipeline continue $(ROUND17) --merge-copies --block-channels $(GROWN_BLOCKS) \
		--start models/lineguard_kws.tflite --out $(@:.tflite=)

grown: $(STAMP) $(GROWN_DIR)/lineguard_kws.tflite  ## v51's dense copies merged, its blocks widened, continued, against v51 on val (~2.7 h)
	$(KWS_PY) -m kwstrain.significance models/lineguard_kws.tflite $(GROWN_DIR)/lineguard_kws.tflite \
		--cache $(KWS_BUILD)/units --joint | tee $(GROWN_DIR)/significance.txt

# The grown network's shape trained from nothing on round 17's clip sets (EXPERIMENTS.md, "The grown shape from
# nothing"): 15 epochs, then the preset's two mining rounds; compared with v51 on val alone and as an output
# ensemble with it. It does not replace the shipped model.
SCRATCH_DIR := $(KWS_BUILD)/scratch-grown

$(SCRATCH_DIR)/lineguard_kws.tflite: | $(ROUND17_DATA)
	$(KWS_PY) -m kwstrain.pipeline train $(subst --continue-splits,--train-splits,$(ROUND17)) \
		--block-channels $(GROWN_BLOCKS) --head-channels 48 --dense-units 64 --train-epochs 15 --out $(@:.tflite=)

scratch: $(STAMP) $(SCRATCH_DIR)/lineguard_kws.tflite  ## the grown shape trained from nothing, against v51 on val (~4 h; ~2.1 h with the clip sets built)
	$(KWS_PY) -m kwstrain.significance models/lineguard_kws.tflite $(SCRATCH_DIR)/lineguard_kws.tflite \
		"models/lineguard_kws.tflite+$(SCRATCH_DIR)/lineguard_kws.tflite" --cache $(KWS_BUILD)/units --joint \
		| tee $(SCRATCH_DIR)/significance.txt

bench-kws: $(STAMP)  ## keyword spotter: real-time factor, RSS, latency, vs PocketSphinx
	$(KWS_PY) -m kwstrain.bench --json models/eval/bench.json

central: $(STAMP)  ## fleet console + local mosquitto + simulated gateways on http://127.0.0.1:8080 (PORT=...)
	$(BIN)/lineguard-central demo $(if $(PORT),--port $(PORT))

bench-central: $(STAMP)  ## central console: ingest events/s with N gateways, page times with 1 million events
	$(BIN)/python central/scripts/bench_central.py

clean:  ## remove the venv and generated data
	rm -rf $(VENV) .pytest_cache
