/**
 * Phase 3, copy: `nix copy` of the closure to the host (substituting on the host when asked),
 * through the host's SSH connection. Nothing on the host changes but its store.
 */
import { nixCopy } from '../../nix.js'
import { ok, phase, type HostContext, type Outcome } from './outcome.js'

export function copy(
  ctx: HostContext,
  storePath: string,
  opts: { alreadyThere: boolean; substituteOnTarget: boolean }
): Promise<Outcome<'copied' | 'already there'>> {
  return phase(
    ctx,
    'copy',
    async () => {
      if (opts.alreadyThere) return ok('already there' as const)
      const host = ctx.remote.host
      const store = ctx.session.nixStore(ctx.remote)
      await nixCopy([storePath], {
        to: store.uri,
        env: store.env,
        noCheckSigs: true,
        substituteOnDestination: opts.substituteOnTarget,
        logger: ctx.logger,
        phase: 'copy',
        what: `copying the closure to ${host}`,
        onStderrLine: line => ctx.logger.debug(line)
      })
      return ok('copied' as const)
    },
    v => v
  )
}
