#!/usr/bin/env bash
# A tour of cmdrun. Put the cursor in a block and press Shift+Enter to run it and move on,
# or Ctrl/Cmd+Enter to run it in place, or click the ▶ beside a block. Every block runs in ONE
# shell that keeps its state. F1 lists every shortcut.

# %% Set up a scratch folder (state carries over: cwd and variables)
workdir=$(mktemp -d)
cd "$workdir"
greeting="hello from block 1"
echo "working in $PWD"

# %% State from the block above is still here
echo "$greeting"
echo "cwd is still $PWD"
greet() { printf 'Hi, %s!\n' "$1"; }
greet "$USER"

# %% Colours render as in a terminal
printf '\033[1;32mgreen bold\033[0m  \033[31mred\033[0m  \033[38;5;208morange (256)\033[0m  \033[38;2;120;80;200mtrue colour\033[0m\n'
ls --color=always /

# %% A progress bar: \r redraws the same line
for pct in 0 20 40 60 80 100; do
  printf '\rdownloading [%-10s] %3d%%' "$(printf '#%.0s' $(seq 1 $((pct / 10))) 2>/dev/null)" "$pct"
  sleep 0.2
done
echo

# %% A heredoc (blank lines inside it do not split the block)
cat > notes.txt <<NOTES
First line

Third line, after a blank one
NOTES
wc -l notes.txt

# %% Answer a prompt: an input line appears under the block and takes the cursor
read -r -p "What is your name? " name
echo "Nice to meet you, ${name:-stranger}!"

# %% A slow block: press Interrupt (or Ctrl+C in the editor) to stop it
for i in $(seq 1 20); do echo "tick $i"; sleep 0.5; done

# %% Clean up
cd /
rm -rf "$workdir"
echo "done"

# %% A failing block: its exit status is shown in red, and the session goes on
# (Run all stops at a failing block, as Jupyter does)
greet "again"
ls /this/path/does/not/exist
