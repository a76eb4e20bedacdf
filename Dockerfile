# syntax=docker/dockerfile:1
# One image for every process; docker-compose.yml picks the entry file per service.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so editing sources does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    UPLOAD_DIR=/data/uploads \
    IMAGES_DIR=/app/images
WORKDIR /app
# Created here, owned by node, so a fresh named volume mounted on it is writable by the fileserver.
RUN mkdir -p /data/uploads && chown node:node /data/uploads
# package.json carries "type": "module", without which node cannot load dist/**/*.js.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/images ./images
USER node
# Exec form: node gets SIGTERM directly (compose adds an init for reaping).
CMD ["node", "dist/scheduler/main.js"]
