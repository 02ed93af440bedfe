/** The channel list at /api/v1/oms/channels/list/, on the service's shared list policies. */
import type { FastifyPluginAsync } from 'fastify';
import { createListRepository } from '../../src/repository/list-repository.js';
import { registerListView } from '../../src/rest/list-view.js';
import { channelResource } from './channel.resource.js';

const channelRoutes: FastifyPluginAsync = async (scope) => {
  registerListView(scope, {
    ...scope.listPolicies,
    path: '/list/',
    resource: channelResource,
    repository: createListRepository(scope.readSource, channelResource),
    downloadName: 'channels',
  });
};

export default channelRoutes;
