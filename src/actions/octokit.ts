/**
 * The GitHub API client, loaded on first use. @actions/github parses the event payload
 * (GITHUB_EVENT_PATH) when it is first imported; loading it lazily keeps a broken payload from
 * crashing an action that never talks to GitHub, and turns it into one sentence for those that do.
 */
import { ActionError } from '../core/errors.js'

type GitHubModule = typeof import('@actions/github')
export type Octokit = ReturnType<GitHubModule['getOctokit']>

let loaded: GitHubModule | null = null

export async function octokit(token: string, baseUrl?: string): Promise<Octokit> {
  if (!loaded) {
    try {
      loaded = await import('@actions/github')
    } catch (err) {
      throw new ActionError(
        `The event payload at GITHUB_EVENT_PATH could not be read (${err instanceof Error ? err.message.split('\n')[0] : String(err)}), so the GitHub API cannot be used.`
      )
    }
  }
  return loaded.getOctokit(token, {
    baseUrl: (baseUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '')
  })
}
