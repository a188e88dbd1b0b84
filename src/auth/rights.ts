// Who may do what with a video (uploading needs an account of either role; settings and users
// need an admin: requireApiUser/requirePageLogin): one table for the API, the pages and the file routes. Pure: a user (or none,
// for anonymous) and a video's owner and visibility in, yes or no out.
export const ROLES = ['admin', 'uploader'] as const
export type Role = (typeof ROLES)[number]

export interface Actor {
  id: number
  role: string
}

interface OwnedVideo {
  uploaderId: number | null
  published: boolean
}

export const isAdmin = (actor: Actor | undefined): boolean => actor?.role === 'admin'

/** Edit, publish/unpublish, delete: its owner or an admin. */
export const canManage = (actor: Actor | undefined, video: OwnedVideo): boolean =>
  actor !== undefined && (isAdmin(actor) || video.uploaderId === actor.id)

/** A published video is everyone's to see; a private one only its owner's and the admins'. */
export const canSee = (actor: Actor | undefined, video: OwnedVideo): boolean =>
  video.published || canManage(actor, video)
