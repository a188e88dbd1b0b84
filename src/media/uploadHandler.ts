// The one upload handler, behind receiveUpload and uploadValidator on both the JSON API and the
// web form: it publishes the upload; `reply` shapes the answer (201 JSON, or a redirect).
import type { RequestHandler, Response } from 'express'
import { validated } from '../validate.ts'
import { apiUser, currentUser } from '../auth/middleware.ts'
import { discardUpload, receivedExtras, receivedFile } from './uploadMiddleware.ts'
import { uploadSchemas } from './videoValidators.ts'
import type { VideoRow } from './videoRepository.ts'
import type { VideoService } from './videoService.ts'

export function publishUpload(videos: VideoService, reply: (res: Response, video: VideoRow) => void): RequestHandler {
  return async (req, res, next) => {
    const file = receivedFile(req)!
    const { body } = validated(res, uploadSchemas)
    // Behind requireApiUser (API) or requirePageLogin (form): one of the two is set.
    const uploader = (apiUser(res) ?? currentUser(res))!
    try {
      const video = await videos.create({
        ...body,
        originalName: file.originalname,
        received: file,
        uploaderId: uploader.id,
        extras: receivedExtras(req),
      })
      reply(res, video)
    } catch (err) {
      // The service moved the file back (or never moved it): it goes, whatever the reply.
      await discardUpload(req)
      next(err)
    }
  }
}
