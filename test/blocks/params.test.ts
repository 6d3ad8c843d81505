// Which lines of a block are parameters (Runme's rules, from the tree-sitter-bash syntax tree), and
// the attributes that steer them: promptEnv in its spellings, secret=, confirm=, front matter.
import { beforeAll, describe, expect, test } from 'vitest';
import type { Splitters } from '../../src/blocks/parser.js';
import { isSecretName, parsePromptMode, withParameters } from '../../src/blocks/params.js';
import { nodeSplitters } from '../helpers/grammar.js';

let splitters: Splitters;
beforeAll(async () => {
  splitters = await nodeSplitters();
});
const params = (code: string, secret?: string[]) => splitters.parameters(code, secret).map(({ start: _s, end: _e, ...p }) => p);

describe('parameters', () => {
  test('quoted values are defaults, unquoted words a message, a bare name or empty value asks with no hint', () => {
    const code = [
      'export REGION="eu-west-1"',
      "export ZONE='b'",
      'export CLUSTER=Enter the cluster name',
      'export PROJECT=[Enter your project id]',
      'export NAME',
      'export EMPTY=',
      'export QUOTED="a \\"b\\" \\$c"',
      'echo "$REGION"',
    ].join('\n');
    expect(params(code)).toEqual([
      { name: 'REGION', default: 'eu-west-1', secret: false },
      { name: 'ZONE', default: 'b', secret: false },
      { name: 'CLUSTER', message: 'Enter the cluster name', secret: false },
      { name: 'PROJECT', message: '[Enter your project id]', secret: false },
      { name: 'NAME', secret: false },
      { name: 'EMPTY', secret: false },
      { name: 'QUOTED', default: 'a "b" $c', secret: false },
    ]);
  });

  test('values with an expansion are no parameters', () => {
    for (const line of ['export A=$HOME', 'export A="x$y"', 'export A=$(date)', 'export A=`date`', 'export A=$((1+2))', 'export A=<(ls)', 'export A=*.txt', 'export A=x?', 'export A={a,b}', 'export A=~/x', "export A=$'x'", 'export A=1 B=2', 'export A="x" B']) {
      expect(params(line), line).toEqual([]);
    }
  });

  test('statements inside functions, loops, if, subshells and lists are no parameters', () => {
    const code = 'f() { export A=1; }\nif true; then export B=x; fi\nfor i in 1; do export C=x; done\n(export D=1)\ntrue && export E="x"\n{ export F=1; }';
    expect(params(code)).toEqual([]);
  });

  test('secrets by name, or by the block\'s secret="..."', () => {
    expect(['DB_PASSWORD', 'passwd', 'CLIENT_SECRET', 'GITHUB_TOKEN', 'MY_APIKEY', 'OPENAI_API_KEY', 'SSH_PRIVATE_KEY', 'AWS_ACCESS_KEY'].every(isSecretName)).toBe(true);
    expect(['KEYBOARD', 'REGION', 'MONKEY', 'KEYS'].some(isSecretName)).toBe(false);
    expect(params('export PIN=Enter the PIN', ['PIN'])).toEqual([{ name: 'PIN', message: 'Enter the PIN', secret: true }]);
  });

  test('the code that runs keeps every other line, and line numbers', () => {
    const code = 'echo a\nexport A="x\ny"\necho $LINENO';
    const found = splitters.parameters(code);
    expect(withParameters(code, found)).toBe('echo a\nexport A\n\necho $LINENO');
  });

  test.each([
    ['auto', 'auto'], ['', 'auto'], ['always', 'always'], ['yes', 'always'], ['TRUE', 'always'],
    ['never', 'never'], ['no', 'never'], ['false', 'never'], ['sometimes', undefined],
  ])('promptEnv=%s is %s', (text, mode) => expect(parsePromptMode(text)).toBe(mode));
});

describe('block attributes', () => {
  test('# %% metadata: promptEnv, secret, confirm; the title stays', () => {
    const blocks = splitters.forFile('x.sh')('# %% Deploy promptEnv="never"\nexport A=x\n# %% Restart confirm="Restart production?" secret="PIN,OTP"\necho\n# %% Plain confirm=true\necho\n# %% Set GREETING="hi"\necho');
    expect(blocks.map((b) => [b.title, b.inputs])).toEqual([
      ['Deploy', { promptEnv: 'never' }],
      ['Restart', { promptEnv: 'auto', secret: ['PIN', 'OTP'], confirm: 'Restart production?' }],
      ['Plain', { promptEnv: 'auto', confirm: 'Run this block?' }],
      ['Set GREETING="hi"', undefined],
    ]);
  });

  test('fence attributes and the YAML front matter (promptEnv, Runme\'s skipPrompts)', () => {
    const md = (front: string) => `${front}# Title\n\n\`\`\`sh { name=a promptEnv=always }\nexport A=x\n\`\`\`\n\n\`\`\`bash\nexport B=y\n\`\`\`\n\n\`\`\`console { confirm=true }\n$ ls\n\`\`\`\n`;
    const split = splitters.forFile('x.md');
    expect(split(md('')).map((b) => b.inputs)).toEqual([{ promptEnv: 'always' }, undefined, { confirm: 'Run this block?' }]);
    const never = split(md('---\ntitle: T\npromptEnv: never\n---\n'));
    expect(never.map((b) => b.inputs)).toEqual([{ promptEnv: 'always' }, { promptEnv: 'never' }, { confirm: 'Run this block?' }]);
    expect(never[1]).toMatchObject({ title: 'Title', lineStart: 12 });
    expect(split(md('---\nskipPrompts: true\n---\n'))[1].inputs).toEqual({ promptEnv: 'never' });
  });
});
