#!/usr/bin/env bash
# Install the Debian packages LineGuard's tools and tests need, if missing.
# (festvox-*: the keyword spotter's training voices, ~65 MB; kwstrain/tts.py, kwstrain/accent.py; festival-hi:
#  the Hindi voice's phone set, which festvox-hi-nsk only recommends;
#  nodejs + npm: runs the GnuSpeech training voices, kwstrain/gnuspeech_voice.py)
set -euo pipefail
need=()
for pkg in espeak-ng sox libsox-fmt-all mosquitto mosquitto-clients flite festival \
           festvox-kdlpc16k festvox-kallpc16k festvox-us-slt-hts fortunes postgresql chromium chromium-driver \
           festvox-czech-dita festvox-czech-krb festvox-czech-machac festvox-czech-ph \
           festvox-suopuhe-lj festvox-suopuhe-mv festvox-italp16k festvox-itapc16k festvox-ru festvox-hi-nsk festival-hi; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
# node and npm from any source (Debian's nodejs/npm only when the commands are missing)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
